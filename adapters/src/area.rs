//! GB/T 2260 administrative division codes: enough to tell a plausible code
//! from a typo. Every province-level prefix is known; for the four Yangtze River
//! Delta provinces the prefecture-level prefixes are known too (the current
//! divisions, plus Chaohu 3414, abolished in 2011, which old records still
//! carry). Counties and districts are not checked: they change every year and
//! the registers that use them are the authority.

/// Province-level divisions: `(first two digits, name)`.
pub const PROVINCES: &[(&str, &str)] = &[
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
    ("71", "台湾省"),
    ("81", "香港特别行政区"),
    ("82", "澳门特别行政区"),
];

/// Prefecture-level divisions of Shanghai, Jiangsu, Zhejiang and Anhui:
/// `(first four digits, name)`.
pub const YRD_PREFECTURES: &[(&str, &str)] = &[
    ("3101", "上海市市辖区"),
    ("3102", "上海市县（2016 年前）"),
    ("3201", "南京市"),
    ("3202", "无锡市"),
    ("3203", "徐州市"),
    ("3204", "常州市"),
    ("3205", "苏州市"),
    ("3206", "南通市"),
    ("3207", "连云港市"),
    ("3208", "淮安市"),
    ("3209", "盐城市"),
    ("3210", "扬州市"),
    ("3211", "镇江市"),
    ("3212", "泰州市"),
    ("3213", "宿迁市"),
    ("3301", "杭州市"),
    ("3302", "宁波市"),
    ("3303", "温州市"),
    ("3304", "嘉兴市"),
    ("3305", "湖州市"),
    ("3306", "绍兴市"),
    ("3307", "金华市"),
    ("3308", "衢州市"),
    ("3309", "舟山市"),
    ("3310", "台州市"),
    ("3311", "丽水市"),
    ("3401", "合肥市"),
    ("3402", "芜湖市"),
    ("3403", "蚌埠市"),
    ("3404", "淮南市"),
    ("3405", "马鞍山市"),
    ("3406", "淮北市"),
    ("3407", "铜陵市"),
    ("3408", "安庆市"),
    ("3410", "黄山市"),
    ("3411", "滁州市"),
    ("3412", "阜阳市"),
    ("3413", "宿州市"),
    ("3414", "巢湖市（2011 年撤销）"),
    ("3415", "六安市"),
    ("3416", "亳州市"),
    ("3417", "池州市"),
    ("3418", "宣城市"),
];

/// Whether `code` (six ASCII digits) is a plausible division code: a known
/// province; for the four YRD provinces, the province itself (`xx0000`) or a
/// known prefecture.
pub fn is_known(code: &str) -> bool {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Some(province), Some(prefecture)) = (code.get(..2), code.get(..4)) else {
        return false;
    };
    if !PROVINCES.iter().any(|(p, _)| *p == province) {
        return false;
    }
    if !matches!(province, "31" | "32" | "33" | "34") {
        return true;
    }
    code.get(2..) == Some("0000") || YRD_PREFECTURES.iter().any(|(p, _)| *p == prefecture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_provinces_and_yrd_prefectures() {
        for ok in [
            "310000", "310115", "320106", "330106", "340104", "341400", "110101", "440300",
        ] {
            assert!(is_known(ok), "{ok}");
        }
        for bad in [
            "300000", "320000x", "32010", "321401", "340901", "990000", "3201O6", "",
        ] {
            assert!(!is_known(bad), "{bad}");
        }
    }
}
