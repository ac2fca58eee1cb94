/// Renders reports as the contract's JSON form and as CSV section rows, straight into byte buffers.
struct RenderContext {
    let storeCodes: [String]
    let salespersonCodes: [String]
    let modelCodes: [String]
    let prettyJSON: Bool
}

extension ByteBuffer {
    @inline(__always) mutating func appendCardID(store: String, number: Int) {
        append("A-")
        append(store)
        append(UInt8(ascii: "-"))
        append(int: number, width: 6)
    }

    @inline(__always) mutating func appendOrderID(store: String, number: Int) {
        append("O-")
        append(store)
        append(UInt8(ascii: "-"))
        append(int: number, width: 6)
    }

    @inline(__always) mutating func append(day: Int) {
        let c = CivilCalendarBridge.civil(day)
        append(int: c.year, width: 4)
        append(UInt8(ascii: "-"))
        append(int: c.month, width: 2)
        append(UInt8(ascii: "-"))
        append(int: c.day, width: 2)
    }

    @inline(__always) mutating func append(bool: Bool) {
        if bool { append("true") } else { append("false") }
    }
}

// MARK: - JSON

enum JSONReportRenderer {
    static func render(_ r: DayReport, _ ctx: RenderContext, into b: inout ByteBuffer) {
        let store = ctx.storeCodes[r.store]
        let p = ctx.prettyJSON
        // Separators: field start inside an object at depth 1 / 3.
        let f1: StaticString = p ? "\n  " : ""
        let f3: StaticString = p ? "\n      " : ""
        let o2: StaticString = p ? "\n    {" : "{"
        let c2: StaticString = p ? "\n    }" : "}"
        let colon: StaticString = p ? ": " : ":"
        let endArray: StaticString = p ? "\n  ]" : "]"

        b.append("{")
        b.append(f1); b.append("\"format\""); b.append(colon); b.append("\"dealer-daily-report/1\",")
        b.append(f1); b.append("\"store\""); b.append(colon); b.appendJSONString(store); b.append(",")
        b.append(f1); b.append("\"business_date\""); b.append(colon); b.append(UInt8(ascii: "\"")); b.append(day: r.day); b.append("\",")

        // visits
        b.append(f1); b.append("\"visits\""); b.append(colon); b.append("[")
        for (i, v) in r.visits.enumerated() {
            if i > 0 { b.append(",") }
            b.append(o2)
            b.append(f3); b.append("\"id\""); b.append(colon); b.append("\"V"); b.append(int: i + 1); b.append("\",")
            b.append(f3); b.append("\"channel\""); b.append(colon); b.append("\""); b.append(channelNames[v.channel]); b.append("\",")
            b.append(f3); b.append("\"purpose\""); b.append(colon); b.append("\""); b.append(purposeNames[v.purpose]); b.append("\",")
            b.append(f3); b.append("\"salesperson\""); b.append(colon); b.appendJSONString(ctx.salespersonCodes[v.salesperson]); b.append(",")
            b.append(f3); b.append("\"model\""); b.append(colon)
            if v.model >= 0 { b.appendJSONString(ctx.modelCodes[v.model]) } else { b.append("null") }
            b.append(",")
            if !(v.omitPartySize && v.partySize == 1) {
                b.append(f3); b.append("\"party_size\""); b.append(colon); b.append(int: v.partySize); b.append(",")
            }
            b.append(f3); b.append("\"existing_card\""); b.append(colon)
            if v.existingCard > 0 { b.append("\""); b.appendCardID(store: store, number: v.existingCard); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"existing_order\""); b.append(colon); b.append(bool: v.existingOrder); b.append(",")
            b.append(f3); b.append("\"new_card\""); b.append(colon)
            if v.newCard > 0 { b.append("\""); b.appendCardID(store: store, number: v.newCard); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"test_drive\""); b.append(colon); b.append(bool: v.testDrive)
            b.append(c2)
        }
        if !r.visits.isEmpty { b.append(endArray) } else { b.append("]") }
        b.append(",")

        // prospects
        b.append(f1); b.append("\"prospects\""); b.append(colon); b.append("[")
        for (i, c) in r.cards.enumerated() {
            if i > 0 { b.append(",") }
            b.append(o2)
            b.append(f3); b.append("\"card\""); b.append(colon); b.append("\""); b.appendCardID(store: store, number: c.number); b.append("\",")
            b.append(f3); b.append("\"created_on\""); b.append(colon); b.append("\""); b.append(day: c.createdOn); b.append("\",")
            b.append(f3); b.append("\"salesperson\""); b.append(colon); b.appendJSONString(ctx.salespersonCodes[c.salesperson]); b.append(",")
            b.append(f3); b.append("\"customer_name\""); b.append(colon); b.appendJSONString(c.name); b.append(",")
            b.append(f3); b.append("\"phone\""); b.append(colon); b.appendJSONString(c.phone); b.append(",")
            b.append(f3); b.append("\"model\""); b.append(colon)
            if c.model >= 0 { b.appendJSONString(ctx.modelCodes[c.model]) } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"level\""); b.append(colon); b.append("\""); b.append(levelNames[c.level]); b.append("\",")
            b.append(f3); b.append("\"source\""); b.append(colon); b.append("\""); b.append(sourceNames[c.source]); b.append("\",")
            b.append(f3); b.append("\"status\""); b.append(colon); b.append("\""); b.append(cardStatusNames[c.status]); b.append("\",")
            b.append(f3); b.append("\"closed_on\""); b.append(colon)
            if c.status != CardStatus.open { b.append("\""); b.append(day: c.closedOn); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"lost_reason\""); b.append(colon); b.appendJSONString(orNull: c.status == CardStatus.lost ? c.lostReason : nil)
            b.append(c2)
        }
        if !r.cards.isEmpty { b.append(endArray) } else { b.append("]") }
        b.append(",")

        // sales
        b.append(f1); b.append("\"sales\""); b.append(colon); b.append("[")
        for (i, o) in r.orders.enumerated() {
            if i > 0 { b.append(",") }
            b.append(o2)
            b.append(f3); b.append("\"order\""); b.append(colon); b.append("\""); b.appendOrderID(store: store, number: o.number); b.append("\",")
            b.append(f3); b.append("\"card\""); b.append(colon)
            if o.card > 0 { b.append("\""); b.appendCardID(store: store, number: o.card); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"salesperson\""); b.append(colon); b.appendJSONString(ctx.salespersonCodes[o.salesperson]); b.append(",")
            b.append(f3); b.append("\"model\""); b.append(colon); b.appendJSONString(ctx.modelCodes[o.model]); b.append(",")
            b.append(f3); b.append("\"order_date\""); b.append(colon); b.append("\""); b.append(day: o.orderDate); b.append("\",")
            b.append(f3); b.append("\"status\""); b.append(colon); b.append("\""); b.append(orderStatusNames[o.status]); b.append("\",")
            b.append(f3); b.append("\"delivery_date\""); b.append(colon)
            if o.status == OrderStatus.delivered { b.append("\""); b.append(day: o.deliveryDate); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"cancel_date\""); b.append(colon)
            if o.status == OrderStatus.cancelled { b.append("\""); b.append(day: o.cancelDate); b.append("\"") } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"vin\""); b.append(colon); b.appendJSONString(orNull: o.status == OrderStatus.delivered ? o.vin : nil); b.append(",")
            b.append(f3); b.append("\"list_price\""); b.append(colon)
            if o.listPrice >= 0 { b.appendMoneyFixed(Cents(o.listPrice)) } else { b.append("null") }
            b.append(",")
            b.append(f3); b.append("\"deal_price\""); b.append(colon); b.appendMoneyFixed(Cents(o.dealPrice)); b.append(",")
            b.append(f3); b.append("\"collected\""); b.append(colon); b.appendMoneyFixed(Cents(o.collected))
            b.append(c2)
        }
        if !r.orders.isEmpty { b.append(endArray) } else { b.append("]") }
        b.append(p ? "\n}\n" : "}\n")
    }
}

// MARK: - CSV

/// How one CSV file writes booleans (the contract accepts all of these; empty means false).
enum CSVBoolStyle: Int {
    case trueFalse, oneZero, shiFou, yn, trueEmpty

    func text(_ v: Bool) -> StaticString {
        switch self {
        case .trueFalse: return v ? "true" : "false"
        case .oneZero: return v ? "1" : "0"
        case .shiFou: return v ? "是" : "否"
        case .yn: return v ? "Y" : "N"
        case .trueEmpty: return v ? "true" : ""
        }
    }
}

enum CSVRenderer {
    static let visitsHeader = "store,business_date,visit_id,channel,purpose,salesperson,model,party_size,existing_card,existing_order,new_card,test_drive"
    static let prospectsHeader = "store,business_date,card,created_on,salesperson,customer_name,phone,model,level,source,status,closed_on,lost_reason"
    static let salesHeader = "store,business_date,order,card,salesperson,model,order_date,status,delivery_date,cancel_date,vin,list_price,deal_price,collected"
    static let columnCounts = [12, 13, 14]

    static func visitRow(_ r: DayReport, _ i: Int, _ ctx: RenderContext, bools: CSVBoolStyle, into b: inout ByteBuffer) {
        let v = r.visits[i]
        let store = ctx.storeCodes[r.store]
        b.append(store); b.append(","); b.append(day: r.day); b.append(",V"); b.append(int: i + 1); b.append(",")
        b.append(channelNames[v.channel]); b.append(","); b.append(purposeNames[v.purpose]); b.append(",")
        b.appendCSVCell(ctx.salespersonCodes[v.salesperson]); b.append(",")
        if v.model >= 0 { b.append(ctx.modelCodes[v.model]) }
        b.append(",")
        if !(v.omitPartySize && v.partySize == 1) { b.append(int: v.partySize) }
        b.append(",")
        if v.existingCard > 0 { b.appendCardID(store: store, number: v.existingCard) }
        b.append(","); b.append(bools.text(v.existingOrder)); b.append(",")
        if v.newCard > 0 { b.appendCardID(store: store, number: v.newCard) }
        b.append(","); b.append(bools.text(v.testDrive))
    }

    static func prospectRow(_ r: DayReport, _ i: Int, _ ctx: RenderContext, into b: inout ByteBuffer) {
        let c = r.cards[i]
        let store = ctx.storeCodes[r.store]
        b.append(store); b.append(","); b.append(day: r.day); b.append(",")
        b.appendCardID(store: store, number: c.number); b.append(","); b.append(day: c.createdOn); b.append(",")
        b.appendCSVCell(ctx.salespersonCodes[c.salesperson]); b.append(",")
        b.appendCSVCell(c.name); b.append(","); b.appendCSVCell(c.phone); b.append(",")
        if c.model >= 0 { b.append(ctx.modelCodes[c.model]) }
        b.append(","); b.append(levelNames[c.level]); b.append(","); b.append(sourceNames[c.source]); b.append(",")
        b.append(cardStatusNames[c.status]); b.append(",")
        if c.status != CardStatus.open { b.append(day: c.closedOn) }
        b.append(",")
        if c.status == CardStatus.lost, let reason = c.lostReason { b.appendCSVCell(reason) }
    }

    static func salesRow(_ r: DayReport, _ i: Int, _ ctx: RenderContext, into b: inout ByteBuffer) {
        let o = r.orders[i]
        let store = ctx.storeCodes[r.store]
        b.append(store); b.append(","); b.append(day: r.day); b.append(",")
        b.appendOrderID(store: store, number: o.number); b.append(",")
        if o.card > 0 { b.appendCardID(store: store, number: o.card) }
        b.append(","); b.appendCSVCell(ctx.salespersonCodes[o.salesperson]); b.append(",")
        b.append(ctx.modelCodes[o.model]); b.append(","); b.append(day: o.orderDate); b.append(",")
        b.append(orderStatusNames[o.status]); b.append(",")
        if o.status == OrderStatus.delivered { b.append(day: o.deliveryDate) }
        b.append(",")
        if o.status == OrderStatus.cancelled { b.append(day: o.cancelDate) }
        b.append(",")
        if o.status == OrderStatus.delivered, let vin = o.vin { b.append(vin) }
        b.append(",")
        if o.listPrice >= 0 { b.appendMoneyExcel(Cents(o.listPrice)) }
        b.append(","); b.appendMoneyExcel(Cents(o.dealPrice)); b.append(","); b.appendMoneyExcel(Cents(o.collected))
    }
}
