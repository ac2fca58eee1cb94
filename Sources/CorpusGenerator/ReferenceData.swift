/// Fixed vocabularies the generator draws from: regions, cities, names, models. Plain data.
enum ReferenceData {
    struct RegionTemplate {
        let code: String
        let name: String      // 华东大区
        let shortName: String // 华东 (for 华东二区 when a region repeats)
        let cities: [(code: String, name: String)]
    }

    static let regions: [RegionTemplate] = [
        RegionTemplate(code: "EAST", name: "华东大区", shortName: "华东", cities: [
            ("SH", "上海"), ("HZ", "杭州"), ("NJ", "南京"), ("SU", "苏州"), ("NB", "宁波"), ("HF", "合肥"),
            ("WX", "无锡"), ("JN", "济南"), ("QD", "青岛"), ("FZ", "福州"), ("XM", "厦门"), ("WZ", "温州"),
            ("CZ", "常州"), ("SX", "绍兴"), ("YT", "烟台"),
        ]),
        RegionTemplate(code: "SOUTH", name: "华南大区", shortName: "华南", cities: [
            ("GZ", "广州"), ("SZ", "深圳"), ("DG", "东莞"), ("FS", "佛山"), ("NN", "南宁"), ("HK", "海口"),
            ("ZH", "珠海"), ("ST", "汕头"), ("HUZ", "惠州"), ("ZS", "中山"), ("GL", "桂林"),
        ]),
        RegionTemplate(code: "NORTH", name: "华北大区", shortName: "华北", cities: [
            ("BJ", "北京"), ("TJ", "天津"), ("SJZ", "石家庄"), ("TY", "太原"), ("HHHT", "呼和浩特"),
            ("TS", "唐山"), ("BD", "保定"), ("LF", "廊坊"), ("HD", "邯郸"), ("BT", "包头"),
        ]),
        RegionTemplate(code: "CENTRAL", name: "华中大区", shortName: "华中", cities: [
            ("WH", "武汉"), ("CS", "长沙"), ("ZZ", "郑州"), ("NC", "南昌"), ("LY", "洛阳"), ("YC", "宜昌"),
            ("XY", "襄阳"), ("ZZH", "株洲"), ("GZH", "赣州"), ("NY", "南阳"),
        ]),
        RegionTemplate(code: "SOUTHWEST", name: "西南大区", shortName: "西南", cities: [
            ("CD", "成都"), ("CQ", "重庆"), ("KM", "昆明"), ("GY", "贵阳"), ("MY", "绵阳"), ("ZY", "遵义"),
            ("NCH", "南充"), ("QJ", "曲靖"),
        ]),
        RegionTemplate(code: "NORTHWEST", name: "西北大区", shortName: "西北", cities: [
            ("XA", "西安"), ("LZ", "兰州"), ("YCH", "银川"), ("XN", "西宁"), ("WLMQ", "乌鲁木齐"),
            ("BJI", "宝鸡"), ("XYA", "咸阳"),
        ]),
        RegionTemplate(code: "NORTHEAST", name: "东北大区", shortName: "东北", cities: [
            ("SY", "沈阳"), ("DL", "大连"), ("CC", "长春"), ("HEB", "哈尔滨"), ("JL", "吉林"),
            ("AS", "鞍山"), ("DQ", "大庆"),
        ]),
    ]

    static let chineseNumerals = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]

    /// 第 n 个 (n >= 2) in Chinese for small n: 二, 三, ..., 十, 十一, ..., 九十九.
    static func chineseNumber(_ n: Int) -> String {
        if n <= 10 { return chineseNumerals[n] }
        if n < 20 { return "十" + chineseNumerals[n - 10] }
        let tens = n / 10, ones = n % 10
        return chineseNumerals[tens] + "十" + (ones == 0 ? "" : chineseNumerals[ones])
    }

    static let districts = [
        "城东", "城西", "城南", "城北", "机场路", "高新区", "经开区", "滨江", "世纪大道", "中山路", "解放路",
        "人民路", "汽车城", "东湖", "西湖", "新区", "南湖", "北站", "开元", "港城", "江北", "河西", "天河",
        "龙岗", "锦江", "雁塔", "和平", "长江路", "黄河路", "湖滨",
    ]

    static let brand = "华驰汽车"

    struct ModelTemplate {
        let code: String
        let name: String
        let segment: String
        let listYuan: Int64
        let popularity: Double
        let vds: String // 5 VIN characters (positions 4-8), model-specific
    }

    static let models: [ModelTemplate] = [
        ModelTemplate(code: "S30", name: "华驰 S30", segment: "小型轿车", listYuan: 69_800, popularity: 6, vds: "A1B2C"),
        ModelTemplate(code: "S50", name: "华驰 S50", segment: "紧凑型轿车", listYuan: 89_800, popularity: 12, vds: "A2C3D"),
        ModelTemplate(code: "T35", name: "华驰 T35", segment: "小型SUV", listYuan: 79_800, popularity: 8, vds: "B1C2E"),
        ModelTemplate(code: "T55", name: "华驰 T55", segment: "紧凑型SUV", listYuan: 109_800, popularity: 16, vds: "B2D4F"),
        ModelTemplate(code: "E30", name: "华驰 E30 EV", segment: "纯电轿车", listYuan: 119_800, popularity: 9, vds: "E4A6F"),
        ModelTemplate(code: "S70", name: "华驰 S70", segment: "中型轿车", listYuan: 139_800, popularity: 10, vds: "A3C5G"),
        ModelTemplate(code: "T77", name: "华驰 T77", segment: "中型SUV", listYuan: 159_800, popularity: 14, vds: "B3C7D"),
        ModelTemplate(code: "E60", name: "华驰 E60 EV", segment: "纯电SUV", listYuan: 189_800, popularity: 9, vds: "E6A8H"),
        ModelTemplate(code: "T99", name: "华驰 T99", segment: "中大型SUV", listYuan: 229_800, popularity: 6, vds: "B4C9D"),
        ModelTemplate(code: "M8", name: "华驰 M8", segment: "MPV", listYuan: 259_800, popularity: 4, vds: "M1D8G"),
        ModelTemplate(code: "E80", name: "华驰 E80 EV", segment: "纯电MPV", listYuan: 279_800, popularity: 2, vds: "E8M2J"),
        ModelTemplate(code: "X9", name: "华驰 X9 旗舰版", segment: "大型SUV", listYuan: 299_800, popularity: 2, vds: "X9K1L"),
    ]

    /// Common surnames, roughly by frequency (weights are the order: earlier = more common).
    static let surnames: [String] = Array(
        ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            + "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
    ).map { String($0) }

    static let compoundSurnames = ["欧阳", "皇甫", "司马", "上官", "诸葛", "东方", "慕容"]

    /// Given-name characters. Deliberately free of 小, 老, 三, 四, 五 and of honorific characters
    /// (先 生 女 士 姐 总 经 理 板 师 傅), so a generated "valid" name is always a full name under the
    /// contract's validity rule.
    static let givenChars: [String] = Array(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红兰飞鹏辉建文斌宇浩凯健俊帆帅旭宁晨阳"
            + "昊然博雅琪欣怡梓涵子轩泽宇浩睿思诺嘉一峰瑞春燕海波亮东云新雨婷月莉倩洁琳颖露瑶凡佳悦欢"
    ).map { String($0) }

    /// Names that make an A-card invalid (honorific forms, 小X/老X, placeholders).
    static let invalidNames = [
        "王先生", "李女士", "张总", "刘经理", "陈小姐", "赵老板", "周师傅", "小王", "老李", "欧阳女士",
        "王总经理", "先生", "test", "Test", "客户", "未知", "无", "-", "张三", "李四",
    ]

    static let mobilePrefixes = [
        "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
        "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183", "185",
        "186", "187", "188", "189", "191", "198", "199",
    ]

    /// Landline area codes with their local number lengths.
    static let areaCodes: [(code: String, digits: Int)] = [
        ("010", 8), ("021", 8), ("020", 8), ("022", 8), ("023", 8), ("024", 8), ("025", 8), ("027", 8),
        ("028", 8), ("029", 8), ("0571", 8), ("0512", 8), ("0431", 8), ("0531", 7), ("0591", 8), ("0871", 7),
    ]

    /// Malformed or blacklisted phone numbers as dealers type them.
    static let badPhones = [
        "139340997xx", "1386167545123", "138-0013-8000", "13800138000", "139 0000 0000", "13888888888",
        "1234567", "0000", "+86 138 0013 8000", "1381234",
    ]

    static let lostReasons = [
        "价格原因", "选择竞品", "暂缓购车", "预算不足", "家人反对", "购买二手车", "联系不上", "贷款未通过",
        "其他, 未说明", "车型配置不满意", "等待新款",
    ]

    static let storeClosingReason = "门店闭店"

    static let titles = ["销售顾问", "销售顾问", "销售顾问", "高级销售顾问", "销售主管"]
}
