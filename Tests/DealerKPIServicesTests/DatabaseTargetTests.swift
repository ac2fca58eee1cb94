import DealerKPIServices
import Testing

@Suite("Configuration")
struct DatabaseTargetTests {
    @Test func databaseURLPrecedence() {
        #expect(DatabaseTarget.configuration(flag: "postgresql://a/b", environment: ["DATABASE_URL": "postgresql://c/d"]).connectionString == "postgresql://a/b")
        #expect(DatabaseTarget.configuration(flag: nil, environment: ["DATABASE_URL": "postgresql://c/d"]).connectionString == "postgresql://c/d")
        #expect(DatabaseTarget.configuration(flag: nil, environment: [:]).connectionString == nil)
        #expect(DatabaseTarget.configuration(flag: "", environment: [:]).connectionString == nil)
    }
}
