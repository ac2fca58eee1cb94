import CivilCalendar
import DailyReport
import Foundation
import Testing
import TestSupport

/// The calendar exceptions master file (contract 1.1, section 1): `date`, `kind` (`holiday` | `workday`),
/// `name_zh`; the kind of file told by its header.
@Suite("Calendar exceptions file (contract 1.1)")
struct CalendarMasterTests {
    func rows(_ text: String) throws -> [CalendarExceptionRow] {
        let file = try MasterDataReader.read(bytes: bytes(text), fileName: "calendar.csv")
        #expect(file.kind == .calendar)
        guard case .calendar(let rows) = file.rows else { Issue.record("not a calendar file"); return [] }
        return rows
    }

    @Test func headerTellsTheKindColumnsInAnyOrderBOMAndExtraColumns() throws {
        #expect(MasterDataReader.detectKind(["date", "kind", "name_zh"]) == .calendar)
        #expect(MasterDataReader.detectKind(["name_zh", "kind", "date", "note"]) == .calendar)
        let r = try rows("\u{FEFF}name_zh,kind,date,note\n国庆节,holiday,2026-10-01,x\n,workday,2026-10-10,\n")
        #expect(r == [
            CalendarExceptionRow(date: CalendarDate(iso: "2026-10-01")!, kind: .holiday, nameZh: "国庆节", line: 2),
            CalendarExceptionRow(date: CalendarDate(iso: "2026-10-10")!, kind: .workday, nameZh: nil, line: 3),
        ])
        // A holiday may fall on a weekend (元旦 2026-01-03 is a Saturday).
        #expect(try rows("date,kind,name_zh\n2026-01-03,holiday,元旦\n").count == 1)
    }

    @Test func theKindsOfTheMasterDataSetAndTheLoadOrder() {
        #expect(!MasterFileKind.allCases.contains(.calendar))
        #expect(MasterFileKind.allKinds == MasterFileKind.allCases + [.calendar])
        #expect(MasterFileKind.allKinds.sorted { $0.loadOrder < $1.loadOrder }.last == .calendar)
        #expect(MasterFileKind(rawValue: "calendar") == .calendar)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let text: String
        let line: Int
        let field: String?
        let rule: Rule
        var testDescription: String { text.debugDescription }
    }

    static let bad: [Bad] = [
        Bad(text: "date,kind,name_zh\n2026-10-01,holiday,国庆节\n2026-10-02,festival,国庆节\n", line: 3, field: "kind", rule: .enumValue),
        Bad(text: "date,kind,name_zh\n2026-10-01,Holiday,国庆节\n", line: 2, field: "kind", rule: .enumValue),
        Bad(text: "date,kind,name_zh\n2026-10-01,,国庆节\n", line: 2, field: "kind", rule: .required),
        Bad(text: "date,kind,name_zh\n2026/10/01,holiday,国庆节\n", line: 2, field: "date", rule: .dateFormat),
        Bad(text: "date,kind,name_zh\n2026-02-30,holiday,\n", line: 2, field: "date", rule: .dateFormat),
        Bad(text: "date,kind,name_zh\n,holiday,国庆节\n", line: 2, field: "date", rule: .required),
        Bad(text: "date,kind,name_zh\n2026-10-01,holiday,国庆节\n2026-10-01,holiday,国庆\n", line: 3, field: "date", rule: .duplicateKey),
        // A workday on a weekday: already a working day, so the file says something else than it means.
        Bad(text: "date,kind,name_zh\n2026-10-09,workday,调休\n", line: 2, field: "kind", rule: .range),
        Bad(text: "date,kind,name_zh\n2026-10-01,holiday,国\u{1}庆\n", line: 2, field: "name_zh", rule: .controlCharacter),
        Bad(text: "date,kind,name_zh\n2026-10-01,holiday\n", line: 2, field: nil, rule: .raggedRow),
        Bad(text: "date,kind,kind\n2026-10-01,holiday,holiday\n", line: 1, field: "kind", rule: .duplicateColumn),
        // Without kind (or date) the header names no file kind.
        Bad(text: "date,name_zh\n2026-10-01,国庆节\n", line: 1, field: nil, rule: .fileKind),
    ]

    @Test(arguments: bad)
    func aBadRowRejectsTheFile(_ c: Bad) {
        guard case .failure(let rejection) = readMaster(c.text, name: "calendar.csv") else {
            Issue.record("accepted: \(c.text)"); return
        }
        let issue = rejection.issues.first
        #expect(issue?.file == "calendar.csv")
        #expect(issue?.location == .line(c.line))
        #expect(issue?.field == c.field)
        #expect(issue?.rule == c.rule)
    }

    @Test(.enabled(if: SharedExamples.directory.map { FileManager.default.fileExists(atPath: $0.appending(path: "calendar/cn-2026.csv").path) } ?? false,
                   "shared/examples/calendar/cn-2026.csv not present"))
    func theStateCouncil2026Schedule() throws {
        let path = SharedExamples.directory!.appending(path: "calendar/cn-2026.csv").path
        let file = try MasterDataReader.read(path: path, fileName: "cn-2026.csv")
        guard case .calendar(let rows) = file.rows else { Issue.record("not a calendar file"); return }
        let byDate = Dictionary(uniqueKeysWithValues: rows.map { ($0.date.description, $0) })
        #expect(byDate["2026-10-01"]?.kind == .holiday)
        #expect(byDate["2026-10-01"]?.nameZh == "国庆节")
        #expect(byDate["2026-02-17"]?.kind == .holiday)
        // 调休: Saturday 10 October and Sunday 4 January are worked.
        #expect(byDate["2026-10-10"]?.kind == .workday)
        #expect(byDate["2026-10-10"]?.date.isoWeekday == 6)
        #expect(byDate["2026-01-04"]?.kind == .workday)
        #expect(rows.filter { $0.kind == .workday }.allSatisfy { $0.date.isoWeekday >= 6 })
        #expect(byDate["2026-10-09"] == nil)
    }
}
