#ifndef DEALER_KPI_CLIBPQ_SHIM_H
#define DEALER_KPI_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <stdio.h>

/*
 * A cancel handle for one connection, whichever libpq API sends it.
 *
 * libpq >= 17 (LIBPQ_HAS_ASYNC_CANCEL) has PGcancelConn: it connects with the original connection's
 * parameters, so the cancel request travels over TLS when the connection does, and it honours
 * connect_timeout and the keepalive settings. Older libpq only has PGcancel/PQcancel, which sends the
 * request unencrypted. Swift sees one opaque type and three functions; which API runs is decided here,
 * at compile time.
 *
 * Create on the thread that owns the PGconn (it reads the connection); send and free from any one
 * thread at a time (the caller serializes them).
 */
typedef struct dkpi_cancel dkpi_cancel;

static inline dkpi_cancel *dkpi_cancel_create(PGconn *conn) {
#ifdef LIBPQ_HAS_ASYNC_CANCEL
    return (dkpi_cancel *)PQcancelCreate(conn);
#else
    return (dkpi_cancel *)PQgetCancel(conn);
#endif
}

/* Sends a cancel request and waits until the server has processed it (closed the cancel connection).
 * Returns 1 when the request was delivered, 0 with a message in errbuf when it was not. The handle can
 * be used again afterwards. */
static inline int dkpi_cancel_send(dkpi_cancel *cancel, char *errbuf, int errbufsize) {
#ifdef LIBPQ_HAS_ASYNC_CANCEL
    PGcancelConn *cc = (PGcancelConn *)cancel;
    int ok = PQcancelBlocking(cc);
    if (!ok && errbuf && errbufsize > 0) {
        const char *m = PQcancelErrorMessage(cc);
        snprintf(errbuf, (size_t)errbufsize, "%s", m ? m : "cancel request failed");
    }
    PQcancelReset(cc);
    return ok;
#else
    return PQcancel((PGcancel *)cancel, errbuf, errbufsize);
#endif
}

static inline void dkpi_cancel_free(dkpi_cancel *cancel) {
#ifdef LIBPQ_HAS_ASYNC_CANCEL
    PQcancelFinish((PGcancelConn *)cancel);
#else
    PQfreeCancel((PGcancel *)cancel);
#endif
}

/* 1 when this build sends cancels with libpq's PGcancelConn API (libpq >= 17, TLS-capable). */
static inline int dkpi_cancel_uses_cancel_conn(void) {
#ifdef LIBPQ_HAS_ASYNC_CANCEL
    return 1;
#else
    return 0;
#endif
}

/*
 * Names the calling OS thread (pg-conn-N, pg-cancel), for debuggers, `top -H` and the tests. Foundation's
 * Thread.name does not do it reliably on Linux: a name set before start() never reaches the OS thread (it
 * keeps its creator's name), and one set from inside the new thread is sometimes lost because the Thread
 * object is not yet bound to its pthread. (Not libpq, but this is the Postgres module's only C shim.)
 */
#include <pthread.h>
#if defined(__linux__) && !defined(_GNU_SOURCE)
extern int pthread_setname_np(pthread_t thread, const char *name);
#endif
static inline void dkpi_set_current_thread_name(const char *name) {
#if defined(__APPLE__)
    (void)pthread_setname_np(name);
#elif defined(__linux__)
    (void)pthread_setname_np(pthread_self(), name); /* at most 15 bytes are kept */
#else
    (void)name;
#endif
}

#endif
