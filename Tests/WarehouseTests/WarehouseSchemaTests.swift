import Testing
import Warehouse

@Suite("Warehouse schema")
struct WarehouseSchemaTests {
    @Test func migrationsAreEmbeddedInVersionOrder() {
        let versions = WarehouseSchema.migrations.map(\.version)
        #expect(!versions.isEmpty)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }
}
