//! The workbook corpus: responsibility lists and catalogues in the shapes
//! departments publish them (title rows, instruction sheets, merged cells,
//! code lists in every form, Chinese dates, CSV in GB18030 and UTF-8 with
//! BOM), and malformed ones. Each is made here, by code, and committed under
//! `tests/fixtures/workbooks/`; a test checks the committed files are what
//! this code makes (`YRDX_WRITE_SAMPLES=1` rewrites them). Each good one must
//! import as its `*.expected.toml` says; each malformed one must give exactly
//! the errors its `*.errors.txt` lists.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use yrdx_registry::{Import, RegistryData};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workbooks")
}

/// Writes one row of text cells (an empty string leaves the cell empty).
fn row(ws: &mut Worksheet, r: u32, cells: &[&str]) {
    for (c, v) in cells.iter().enumerate() {
        if !v.is_empty() {
            ws.write_string(r, c as u16, *v).unwrap();
        }
    }
}

fn book() -> Workbook {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 1, 1).unwrap();
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
    book
}

/// An instruction sheet, as departments put first.
fn instructions(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("填表说明").unwrap();
    row(ws, 0, &["填表说明"]);
    row(ws, 1, &["1. 带 * 的列为必填项。"]);
    row(
        ws,
        2,
        &["2. 多个使用方用顿号或换行分隔；长期有效的清单失效日期填“长期”。"],
    );
}

/// A list sheet under two title rows, headers with spaces, half-width
/// brackets and `*`, an Excel date, `长期有效`, `2026年3月1日`, `2026/12/31`,
/// √/×, lists separated by `、`, `；`, `,` and new lines, numbers as number
/// cells, 备注, and blank trailing rows and columns.
fn list_with_titles(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("2026年责任清单").unwrap();
    let title = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 15, "长三角数据共享责任清单（2026年）", &title)
        .unwrap();
    row(
        ws,
        1,
        &[
            "填报单位：浙江省大数据发展管理局",
            "",
            "",
            "",
            "填报日期：2026年1月5日",
        ],
    );
    row(
        ws,
        2,
        &[
            "序号",
            "清单编号 *",
            "信息资源代码*",
            "提供方*",
            "联系人",
            "共享类型",
            "共享数据项",
            "使用方",
            "用途",
            "需办件编号",
            "答复时限 (毫秒)*",
            "每日限额",
            "生效日期*",
            "失效日期",
            "状态*",
            "备注",
        ],
    );
    row(
        ws,
        3,
        &[
            "",
            "RL-2026-10001",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "浙江省大数据局 0571-00000000",
            "有条件共享",
            "uscc、name、status",
            "js:11320000014000118J:data\nah:113400000029868223:data",
            "市场主体登记核验；政务服务办理",
            "√",
            "",
            "",
            "",
            "长期有效",
            "有效",
            "长期有效，按季度复核",
        ],
    );
    ws.write_number(3, 0, 1).unwrap();
    ws.write_number(3, 10, 3000).unwrap();
    ws.write_number(3, 11, 10000).unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_datetime_with_format(3, 12, ExcelDateTime::from_ymd(2026, 1, 1).unwrap(), &date)
        .unwrap();
    row(
        ws,
        4,
        &[
            "",
            "RL-2026-10002",
            "YRD-SCJG-0001",
            "js:11320000014000118J:data",
            "",
            "无条件共享",
            "uscc,name",
            "zj:11330000002482028A:data",
            "",
            "×",
            "",
            "",
            "2026年3月1日",
            "2026/12/31",
            "有效",
        ],
    );
    ws.write_number(4, 0, 2).unwrap();
    ws.write_number(4, 10, 5000).unwrap();
    // Blank trailing rows and a formatted but empty column.
    row(ws, 5, &[" ", "", "", "　"]);
    ws.write_blank(8, 17, &date).unwrap();
}

/// The same list as [`list_with_titles`], plainly, behind an instruction
/// sheet and a sheet of nothing yrdx knows: `2026.1.1`, `长期`, 是/否, `;`
/// and `，` separators, numbers as text.
fn list_after_instructions(book: &mut Workbook) {
    instructions(book);
    let ws = book.add_worksheet();
    ws.set_name("统计").unwrap();
    row(ws, 0, &["合计", "2"]);
    let ws = book.add_worksheet();
    ws.set_name("责任清单").unwrap();
    row(
        ws,
        0,
        &[
            "清单编号",
            "信息资源编码",
            "数据提供方",
            "联系方式",
            "共享类型",
            "共享信息项",
            "数据使用方",
            "使用用途",
            "是否需办件编号",
            "答复时限",
            "每日限额",
            "生效日期",
            "失效日期",
            "状态",
            "备注",
        ],
    );
    row(
        ws,
        1,
        &[
            "RL-2026-10001",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "浙江省大数据局 0571-00000000",
            "有条件共享类",
            "uscc;name;status",
            "js:11320000014000118J:data，ah:113400000029868223:data",
            "市场主体登记核验;政务服务办理",
            "是",
            "3000",
            "10,000",
            "2026.1.1",
            "长期",
            "有效",
            "长期有效，按季度复核",
        ],
    );
    row(
        ws,
        2,
        &[
            "RL-2026-10002",
            "YRD-SCJG-0001",
            "js:11320000014000118J:data",
            "",
            "无条件",
            "uscc，name",
            "zj:11330000002482028A:data",
            "",
            "否",
            "5000",
            "",
            "2026.3.1",
            "2026.12.31",
            "有效",
            "",
        ],
    );
}

const CATALOGUE_HEADERS: &[&str] = &[
    "信息资源代码",
    "信息资源名称",
    "信息资源提供方",
    "共享类型",
    "是否向社会开放",
    "发布日期",
    "信息项角色",
    "信息项编码",
    "信息项名称",
    "数据类型",
    "数据长度",
    "是否必填",
    "代码值",
    "备注",
];

/// A catalogue sheet under a title row, the resource's own columns merged
/// down over its item rows, code lists as `1=有效；2=注销；3=吊销` and
/// `1-内资；2-外资`.
fn catalogue_merged(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("信息资源目录").unwrap();
    row(ws, 0, &["长三角共享信息资源目录"]);
    row(ws, 1, CATALOGUE_HEADERS);
    let merged = Format::new();
    for (c, v) in [
        (0, "YRD-TEST-0001"),
        (1, "企业登记状态"),
        (2, "浙江省市场监督管理局"),
        (3, "有条件共享"),
        (4, "否"),
    ] {
        ws.merge_range(2, c, 5, c, v, &merged).unwrap();
    }
    ws.merge_range(2, 5, 5, 5, "", &merged).unwrap();
    let date = Format::new().set_num_format("yyyy年m月d日");
    ws.write_datetime_with_format(2, 5, ExcelDateTime::from_ymd(2026, 1, 15).unwrap(), &date)
        .unwrap();
    let items: &[[&str; 7]] = &[
        [
            "查询条件",
            "uscc",
            "统一社会信用代码",
            "统一社会信用代码",
            "",
            "是",
            "",
        ],
        ["数据项", "name", "企业名称", "字符型", "200", "√", ""],
        [
            "数据项",
            "status",
            "登记状态",
            "代码型",
            "",
            "是",
            "1=有效；2=注销；3=吊销",
        ],
        [
            "数据项",
            "kind",
            "企业类型",
            "代码型",
            "",
            "×",
            "1-内资；2-外资",
        ],
    ];
    for (i, item) in items.iter().enumerate() {
        for (j, v) in item.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(2 + i as u32, 6 + j as u16, *v).unwrap();
            }
        }
    }
    ws.write_string(5, 13, "2026年起启用").unwrap();
}

/// A catalogue sheet whose continuation rows leave the resource columns
/// blank, with code lists one per line, `1:有效`, `1 男`, codes only, and
/// full-width forms.
fn catalogue_code_lists(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("目录（代码值）").unwrap();
    row(ws, 0, CATALOGUE_HEADERS);
    let rows: &[&[&str]] = &[
        &[
            "YRD-TEST-0002",
            "人员信息",
            "",
            "无条件共享",
            "是",
            "2026-1-1",
            "查询条件",
            "id",
            "证件号码",
            "公民身份号码",
            "",
            "是",
            "",
        ],
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "数据项",
            "state",
            "状态",
            "代码型",
            "",
            "",
            "1:有效\n2:注销",
        ],
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "数据项",
            "sex",
            "性别",
            "代码型",
            "",
            "",
            "1 男；2 女",
        ],
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "数据项",
            "level",
            "等级",
            "代码型",
            "",
            "",
            "01；02；03",
        ],
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "数据项",
            "flag",
            "标志",
            "代码型",
            "",
            "",
            "１＝是，２＝否",
        ],
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "数据项",
            "grade",
            "类别",
            "代码型",
            "",
            "",
            "A-甲类、B-乙类",
        ],
    ];
    for (i, r) in rows.iter().enumerate() {
        row(ws, 1 + i as u32, r);
    }
}

/// The department sample: every accepted form in one workbook.
fn sample(book: &mut Workbook) {
    instructions(book);
    catalogue_merged(book);
    catalogue_code_lists(book);
    list_with_titles(book);
}

/// A list with bad cells in several rows: every one is reported.
fn malformed_cells(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("责任清单").unwrap();
    row(ws, 0, &["数据共享责任清单"]);
    row(
        ws,
        1,
        &[
            "清单编号",
            "信息资源代码",
            "提供方",
            "共享类型",
            "共享数据项",
            "使用方",
            "用途",
            "需办件编号",
            "答复时限（毫秒）",
            "生效日期",
            "失效日期",
            "状态",
        ],
    );
    row(
        ws,
        2,
        &[
            "RL-2026-20001",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "有条件共享",
            "name",
            "js:11320000014000118J:data",
            "核验",
            "可能",
            "3000",
            "2026-13-01",
            "长期",
            "有效",
        ],
    );
    row(
        ws,
        3,
        &[
            "RL-2026-20002",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "部分共享",
            "name",
            "js:123",
            "核验",
            "否",
            "3000",
            "2026-01-01",
            "明年",
            "有效",
        ],
    );
    row(
        ws,
        4,
        &[
            "RL-2026-20003",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "有条件共享",
            "name",
            "js:11320000014000118J:data",
            "核验",
            "否",
            "",
            "2026-01-01",
            "",
            "生效",
        ],
    );
}

/// A list whose cells read but fail the cross-checks.
fn malformed_cross(book: &mut Workbook) {
    let ws = book.add_worksheet();
    ws.set_name("责任清单").unwrap();
    row(
        ws,
        0,
        &[
            "清单编号",
            "信息资源代码",
            "提供方",
            "共享类型",
            "法律依据",
            "共享数据项",
            "使用方",
            "用途",
            "答复时限（毫秒）",
            "生效日期",
            "失效日期",
            "状态",
        ],
    );
    let rows: &[&[&str]] = &[
        &[
            "RL-2026-30001",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "有条件共享",
            "",
            "name",
            "sh:12310000MB0L396206:nobody",
            "核验",
            "3000",
            "2026-01-01",
            "长期",
            "有效",
        ],
        &[
            "RL-2026-30002",
            "YRD-SCJG-9999",
            "zj:11330000002482028A:data",
            "有条件共享",
            "",
            "name",
            "js:11320000014000118J:data",
            "核验",
            "3000",
            "2026-01-01",
            "长期",
            "有效",
        ],
        &[
            "RL-2026-30003",
            "YRD-SCJG-0001",
            "zj:11330000002482028A:data",
            "不予共享",
            "",
            "",
            "js:11320000014000118J:data",
            "",
            "3000",
            "2026-01-01",
            "长期",
            "有效",
        ],
        &[
            "RL-2026-30004",
            "YRD-SCJG-0001",
            "ah:113400000029868223:data",
            "有条件共享",
            "",
            "name",
            "js:11320000014000118J:data",
            "核验",
            "3000",
            "2026-01-01",
            "2026-12-31",
            "有效",
        ],
        &[
            "RL-2026-30005",
            "YRD-SCJG-0001",
            "ah:113400000029868223:data",
            "有条件共享",
            "",
            "name",
            "js:11320000014000118J:data",
            "核验",
            "3000",
            "2026-06-01",
            "长期",
            "有效",
        ],
        &[
            "RL-2026-30006",
            "YRD-SCJG-0001",
            "js:11320000014000118J:data",
            "有条件共享",
            "",
            "salary",
            "zj:11330000002482028A:data",
            "核验",
            "3000",
            "2026-01-01",
            "长期",
            "有效",
        ],
    ];
    for (i, r) in rows.iter().enumerate() {
        row(ws, 1 + i as u32, r);
    }
}

/// The list as a department saves it from Excel in China: GB18030, a title
/// row, `2026-1-1`, an empty 失效日期 (open end), share types as `有条件`
/// and `无条件共享类`.
const GB18030_CSV: &str = "江苏报送的责任清单,,,,,,,,,,,,,\n清单编号,信息资源代码,提供方,联系人,共享类型,共享数据项,使用方,用途,需办件编号,答复时限（毫秒）,每日限额,生效日期,失效日期,状态,备注\nRL-2026-10001,YRD-SCJG-0001,zj:11330000002482028A:data,浙江省大数据局 0571-00000000,有条件,uscc、name、status,\"js:11320000014000118J:data\nah:113400000029868223:data\",市场主体登记核验；政务服务办理,是,3000,10000,2026-1-1,,有效,长期有效，按季度复核\nRL-2026-10002,YRD-SCJG-0001,js:11320000014000118J:data,,无条件共享类,\"uscc,name\",zj:11330000002482028A:data,,否,5000,,2026-3-1,2026-12-31,有效,\n,,,,,,,,,,,,,\n";

/// The list in UTF-8 with a BOM, with full-width digits and spaces.
const BOM_CSV: &str = "\u{feff}清单编号,信息资源代码,提供方,联系人,共享类型,共享数据项,使用方,用途,需办件编号,答复时限（毫秒）,每日限额,生效日期,失效日期,状态,备注\nRL-2026-10001,YRD-SCJG-0001,zj:11330000002482028A:data,浙江省大数据局 0571-00000000,有条件共享,uscc；name；status,js:11320000014000118J:data；ah:113400000029868223:data,市场主体登记核验、政务服务办理,√,３０００,１００００,２０２６年１月１日,长期有效,　有效　,长期有效，按季度复核\nRL-2026-10002,YRD-SCJG-0001,js:11320000014000118J:data,,无条件共享,uscc；name,zj:11330000002482028A:data,,×,５０００,,２０２６－０３－０１,２０２６－１２－３１,有效,\n";

/// Headers that cannot be read: an unknown column and a missing one.
const BAD_HEADERS_CSV: &str = "清单编号,信息资源代码,提供方,用 途途,答复时限（毫秒）,生效日期\nRL-2026-40001,YRD-SCJG-0001,zj:11330000002482028A:data,核验,3000,2026-01-01\n";

/// Every corpus file: name and bytes, as this code makes them.
fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let xlsx = |f: fn(&mut Workbook)| {
        let mut b = book();
        f(&mut b);
        b.save_to_buffer().unwrap()
    };
    let (gb18030, _, _) = encoding_rs::GB18030.encode(GB18030_CSV);
    vec![
        ("title-rows.xlsx", xlsx(list_with_titles)),
        ("instructions.xlsx", xlsx(list_after_instructions)),
        ("merged-cells.xlsx", xlsx(catalogue_merged)),
        ("code-lists.xlsx", xlsx(catalogue_code_lists)),
        ("list-gb18030.csv", gb18030.into_owned()),
        ("list-utf8-bom.csv", BOM_CSV.as_bytes().to_vec()),
        ("department-sample.xlsx", xlsx(sample)),
        ("malformed-cells.xlsx", xlsx(malformed_cells)),
        ("malformed-cross.xlsx", xlsx(malformed_cross)),
        ("malformed-headers.csv", BAD_HEADERS_CSV.as_bytes().to_vec()),
    ]
}

#[test]
fn the_committed_corpus_is_what_this_code_makes() {
    for (name, bytes) in corpus() {
        let path = dir().join(name);
        if std::env::var_os("YRDX_WRITE_SAMPLES").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{name} is stale: rerun with YRDX_WRITE_SAMPLES=1"
        );
    }
}

/// Imports the demo members and catalogue with `files` of the corpus.
fn import(files: &[&str]) -> Import {
    let mut import = Import::default();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/demo/registry");
    for f in ["members.toml", "catalogue.toml"] {
        import.add_file(f, &std::fs::read(demo.join(f)).unwrap());
    }
    for f in files {
        import.add_file(f, &std::fs::read(dir().join(f)).unwrap());
    }
    import
}

fn expected(name: &str) -> RegistryData {
    let mut data = RegistryData::default();
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    yrdx_registry::add_toml(&mut data, name, &text).unwrap();
    data
}

#[test]
fn each_workbook_shape_imports_as_expected() {
    let list = expected("list.expected.toml");
    for f in [
        "title-rows.xlsx",
        "instructions.xlsx",
        "list-gb18030.csv",
        "list-utf8-bom.csv",
    ] {
        let i = import(&[f]);
        let errors: Vec<String> = i.errors().iter().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{f}: {errors:#?}");
        assert_eq!(i.data().list, list.list, "{f}");
    }
    let catalogue = expected("catalogue.expected.toml");
    for (f, resource) in [("merged-cells.xlsx", 0), ("code-lists.xlsx", 1)] {
        let i = import(&[f]);
        let errors: Vec<String> = i.errors().iter().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{f}: {errors:#?}");
        let read = i.data().catalogue.last().unwrap();
        assert_eq!(read, &catalogue.catalogue[resource], "{f}");
    }
    // The sample holds them all; its instruction sheet is skipped with a note.
    let i = import(&["department-sample.xlsx"]);
    assert!(i.errors().is_empty(), "{:?}", i.errors());
    assert_eq!(i.data().list, list.list);
    assert_eq!(
        i.data().catalogue[i.data().catalogue.len() - 2..],
        catalogue.catalogue[..]
    );
    assert_eq!(
        i.notes(),
        ["department-sample.xlsx 工作表 sheet 填表说明: 已跳过 skipped (填表说明 instructions)"]
    );
    let i = import(&["instructions.xlsx"]);
    assert_eq!(
        i.notes(),
        [
            "instructions.xlsx 工作表 sheet 填表说明: 已跳过 skipped (填表说明 instructions)",
            "instructions.xlsx 工作表 sheet 统计: 已跳过 skipped (没有可识别的表头 no recognised headers)",
        ]
    );
}

#[test]
fn each_malformed_workbook_gives_exactly_its_errors() {
    for (f, listed) in [
        ("malformed-cells.xlsx", "malformed-cells.errors.txt"),
        ("malformed-cross.xlsx", "malformed-cross.errors.txt"),
        ("malformed-headers.csv", "malformed-headers.errors.txt"),
    ] {
        let got: Vec<String> = import(&[f])
            .errors()
            .iter()
            .map(ToString::to_string)
            .collect();
        let path = dir().join(listed);
        if std::env::var_os("YRDX_WRITE_SAMPLES").is_some() && !path.exists() {
            std::fs::write(&path, got.join("\n") + "\n").unwrap();
        }
        let want: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(got, want, "{f}");
    }
}

#[test]
fn export_then_import_is_unchanged_for_every_shape() {
    for f in [
        "title-rows.xlsx",
        "department-sample.xlsx",
        "code-lists.xlsx",
        "list-utf8-bom.csv",
    ] {
        let data = import(&[f]).into_data();
        let xlsx = yrdx_registry::to_xlsx(&data).unwrap();
        let mut back = Import::default();
        back.add_file("export.xlsx", &xlsx);
        assert!(back.errors().is_empty(), "{f}: {:?}", back.errors());
        assert_eq!(back.into_data(), data, "{f}");
    }
}

#[test]
fn catalogue_cross_checks_name_the_item_row_and_member_checks_the_member_row() {
    let catalogue = "信息资源代码,信息资源名称,共享类型,信息项角色,信息项编码,信息项名称,数据类型,代码值\n\
        YRD-TEST-0003,测试,无条件共享,查询条件,id,号码,字符型,\n\
        ,,,数据项,name,名称,字符型,\n\
        ,,,数据项,state,状态,代码型,\n\
        ,,,数据项,name,名称,字符型,\n";
    let members = "成员标识,名称,角色,状态,接口地址\n\
        zj:11330000002482028A:test,测试平台,提供方,正常,http://zj.example\n";
    let mut import = Import::default();
    import.add_file("目录.csv", catalogue.as_bytes());
    import.add_file("成员.csv", members.as_bytes());
    let got: Vec<String> = import.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "成员.csv 工作表 sheet 成员 第 row 2 行 列 column 接口地址 值 value `http://zj.example`: must be an https:// URL",
            "目录.csv 工作表 sheet 目录 第 row 4 行 列 column 代码值 值 value ``: 代码型信息项需要代码值 a code item needs its code list (state)",
        ]
    );
    // Fixed, the duplicate item is the next fault, named at its own row.
    let mut import = Import::default();
    import.add_file(
        "目录.csv",
        catalogue.replace("代码型,", "代码型,1=有效").as_bytes(),
    );
    let got: Vec<String> = import.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "目录.csv 工作表 sheet 目录 第 row 5 行 列 column 信息项编码 值 value `name`: duplicate item `name`"
        ]
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Damaged corpus files (bytes changed, cut short) are read without a
    /// panic: errors, each naming the file, or data the cross-checks take.
    #[test]
    fn damaged_workbooks_give_errors_not_panics(
        which in 0usize..10,
        flips in proptest::collection::vec((0usize..100_000, proptest::prelude::any::<u8>()), 0..8),
        cut in proptest::option::of(0usize..100_000),
    ) {
        let (name, mut bytes) = corpus().swap_remove(which);
        for (at, b) in flips {
            let len = bytes.len();
            bytes[at % len] = b;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let mut import = Import::default();
        import.add_file(name, &bytes);
        for e in import.errors() {
            let text = e.to_string();
            proptest::prop_assert!(text.contains(name) || text.contains('['), "{}", text);
        }
    }
}
