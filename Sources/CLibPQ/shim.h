#ifndef DEALER_KPI_CLIBPQ_SHIM_H
#define DEALER_KPI_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
