//! **Test-only** bill signer: a bill PKI per region (a root, the issuing unit's,
//! the finance department's and the tax bureau's certificates, a CRL), and
//! signed fiscal e-bills (财政电子票据) and 数电发票 in the layout
//! docs/ebills.md describes — correct ones and deliberately broken ones, for
//! `conformance/vectors/bills/`, the sample issuers and the demo.
//!
//! Its keys come from public seeds: nothing it signs may be trusted outside
//! tests. The layout follows the project's decisions where the public record is
//! silent (signed bytes, supervision content); when real samples settle them,
//! this signer and `yrdx_signing::bill` change together.

use std::fmt::Write as _;

use base64::Engine as _;
use time::OffsetDateTime;
use time::macros::datetime;
use yrdx_signing::Region;

use crate::seal_maker::{
    CertSpec, Issued, KeyAlg, Result, SpkiForm, TestKey, crl, issue, name, usage,
};

/// The time test bills are signed at.
pub const BILL_SIGNED_AT: OffsetDateTime = datetime!(2026-01-15 02:30:00 UTC);
/// The time the bill vectors are verified at.
pub const BILL_VERIFY_AT: OffsetDateTime = datetime!(2026-02-01 00:00:00 UTC);
/// When the revoked unit certificate was revoked (before [`BILL_SIGNED_AT`]).
pub const UNIT_REVOKED_AT: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

const ORG: &str = "yrdx test bill PKI";
const FROM: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);
const TO: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

/// A signing certificate with its key, and how a bill's KeyInfo names it.
#[derive(Clone, Debug)]
pub struct BillSigner {
    /// The key.
    pub key: TestKey,
    /// The certificate.
    pub cert: Issued,
    /// KeyInfo/X509IssuerName as the test bills write it.
    pub issuer_text: String,
}

/// One region's bill PKI.
#[derive(Clone, Debug)]
pub struct RegionBills {
    /// The region.
    pub region: Region,
    /// Root key.
    pub root_key: TestKey,
    /// Root certificate (the region's bill anchor).
    pub root: Issued,
    /// An issuing unit (开票单位).
    pub unit: BillSigner,
    /// An issuing unit whose certificate the root revoked before the bills were signed.
    pub revoked_unit: BillSigner,
    /// The finance department (财政部门, 监制).
    pub finance: BillSigner,
    /// The tax bureau (数电发票).
    pub tax: BillSigner,
    /// The root's CRL.
    pub crl: Vec<u8>,
}

impl RegionBills {
    /// A region's bill PKI; the same every time.
    pub fn build(region: Region) -> Result<RegionBills> {
        let label = region.name_en();
        let root_key =
            TestKey::from_seed(KeyAlg::Sm2, &format!("yrdx-test-bill-key:{label}-root"))?;
        let root_cn = format!("{label} Bill Root CA");
        let root_name = name("CN", ORG, &root_cn)?;
        let root = issue(
            &CertSpec {
                serial: 1,
                subject: root_name.clone(),
                not_before: FROM,
                not_after: TO,
                ca: Some(Some(0)),
                key_usage: usage::KEY_CERT_SIGN | usage::CRL_SIGN,
                time_stamping: false,
                spki_form: SpkiForm::EcPublicKey,
            },
            &root_key,
            &root_name,
            &root_key,
        )?;
        let issuer_text = format!("CN={root_cn},O={ORG},C=CN");
        let leaf = |cn: &str, serial: u64| -> Result<BillSigner> {
            let key = TestKey::from_seed(KeyAlg::Sm2, &format!("yrdx-test-bill-key:{label}-{cn}"))?;
            let cert = issue(
                &CertSpec {
                    serial,
                    subject: name("CN", ORG, &format!("{label} {cn}"))?,
                    not_before: FROM,
                    not_after: TO,
                    ca: None,
                    key_usage: usage::DIGITAL_SIGNATURE | usage::NON_REPUDIATION,
                    time_stamping: false,
                    spki_form: SpkiForm::EcPublicKey,
                },
                &key,
                &root_name,
                &root_key,
            )?;
            Ok(BillSigner {
                key,
                cert,
                issuer_text: issuer_text.clone(),
            })
        };
        let unit = leaf("Issuing Unit", 0x2001)?;
        let finance = leaf("Finance Department", 0x2002)?;
        let tax = leaf("Tax Bureau", 0x2003)?;
        let revoked_unit = leaf("Revoked Unit", 0x2004)?;
        let crl = crl(
            &root,
            &root_key,
            datetime!(2026-01-01 00:00:00 UTC),
            datetime!(2027-01-01 00:00:00 UTC),
            &[(0x2004, UNIT_REVOKED_AT)],
        )?;
        Ok(RegionBills {
            region,
            root_key,
            root,
            unit,
            revoked_unit,
            finance,
            tax,
            crl,
        })
    }

    /// A [`yrdx_signing::BillTrust`] holding this region's bill PKI.
    pub fn add_to(
        &self,
        trust: &mut yrdx_signing::BillTrust,
    ) -> std::result::Result<(), yrdx_signing::CertError> {
        trust.add_anchor(self.region, &self.root.der)?;
        for s in [&self.unit, &self.revoked_unit, &self.finance, &self.tax] {
            trust.add_certificate(self.region, &s.cert.der)?;
        }
        trust.add_crl(self.region, &self.crl)?;
        Ok(())
    }
}

/// What a test fiscal e-bill says.
#[derive(Clone, Debug)]
pub struct FiscalSpec {
    /// 票据代码, 8 digits.
    pub code: String,
    /// 票据号码, 10 digits.
    pub number: String,
    /// 校验码.
    pub check_code: String,
    /// SupervisorAreaCode, 6 digits.
    pub area: String,
    /// TotalAmount as written.
    pub total: String,
    /// IssueDate, yyyyMMdd.
    pub issue_date: String,
    /// 票据名称.
    pub title: String,
    /// 开票单位 USCC and name.
    pub unit: (String, String),
    /// 交款人 code and name.
    pub payer: (String, String),
    /// A red bill: the reversed bill's code and number.
    pub reverses: Option<(String, String)>,
    /// SignatureTime of both signatures.
    pub signed_at: OffsetDateTime,
}

impl FiscalSpec {
    /// A Jiangsu hospital's bill: code `32010125`, number `number`.
    pub fn jiangsu(number: &str, total: &str) -> FiscalSpec {
        FiscalSpec {
            code: "32010125".into(),
            number: number.into(),
            check_code: "235456".into(),
            area: "320100".into(),
            total: total.into(),
            issue_date: "20260115".into(),
            title: "江苏省医疗门诊收费票据（电子）".into(),
            unit: ("12320100466000051J".into(), "南京市示例人民医院".into()),
            payer: ("".into(), "张三".into()),
            reverses: None,
            signed_at: BILL_SIGNED_AT,
        }
    }
}

/// How the supervision content is formed and signed (for vectors that exercise
/// each variant and each failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisionForm {
    /// SM3(unit content), raw bytes, then the unit `<Signature>` element.
    RawElement,
    /// SM3 as lower-case hex, then the unit signature's base64 value.
    HexValue,
}

/// Escapes XML text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn serial_text(cert: &Issued) -> String {
    format!("{:x}", cert.serial)
}

fn fiscal_signature(value: &[u8], time: &str, signer: &BillSigner) -> String {
    format!(
        "<Signature><SignedInfo><Reference>Header,EInvoiceData</Reference>\
         <SignatureAlgorithm>SM2</SignatureAlgorithm><SignatureFormat>DETACH</SignatureFormat>\
         </SignedInfo><SignatureTime>{time}</SignatureTime><Signaturevalue>{}</Signaturevalue>\
         <KeyInfo><SerialNumber>{}</SerialNumber><X509IssuerName>{}</X509IssuerName></KeyInfo>\
         </Signature>",
        b64(value),
        serial_text(&signer.cert),
        esc(&signer.issuer_text)
    )
}

/// The unit's signed content (`<Header>…</EInvoiceData>`) of a fiscal bill.
pub fn fiscal_content(spec: &FiscalSpec) -> String {
    let id: String = format!("{}-{}", spec.code, spec.number)
        .chars()
        .rev()
        .collect();
    let province = spec.area.get(..2).unwrap_or("00");
    let mut ext = String::new();
    if let Some((code, number)) = &spec.reverses {
        let _ = write!(
            ext,
            "<MainExt><RelatedInvoiceCode>{code}</RelatedInvoiceCode>\
             <RelatedInvoiceNumber>{number}</RelatedInvoiceNumber></MainExt>"
        );
    }
    format!(
        "<Header><EInvoiceTag>CZ-EI-{province}</EInvoiceTag><EInvoiceID>{id}</EInvoiceID>\
         <Version>1.1.0</Version></Header><EInvoiceData><Main><EInvoiceName>{title}</EInvoiceName>\
         <EInvoiceCode>{code}</EInvoiceCode><EInvoiceNumber>{number}</EInvoiceNumber>\
         <RandomNumber>{check}</RandomNumber><EInvoiceSpecimenCode>3201012101</EInvoiceSpecimenCode>\
         <SupervisorAreaCode>{area}</SupervisorAreaCode><TotalAmount>{total}</TotalAmount>\
         <IssueDate>{date}</IssueDate><IssueTime>10:30:00</IssueTime><InvoicingParty>\
         <InvoicingPartyCode>{uscc}</InvoicingPartyCode><InvoicingPartyName>{uname}</InvoicingPartyName>\
         </InvoicingParty><PayerParty><PayerPartyType>1</PayerPartyType><PayerPartyCode>{pcode}</PayerPartyCode>\
         <PayerPartyName>{pname}</PayerPartyName></PayerParty><CurrencyType>CNY</CurrencyType>{ext}\
         </Main><Details><Item><ItemCode>001</ItemCode><ItemName>门诊诊察费</ItemName>\
         <ItemQuantity>1</ItemQuantity><ItemUnit>次</ItemUnit><ItemStd>{total}</ItemStd>\
         <ItemAmount>{total}</ItemAmount></Item></Details></EInvoiceData>",
        title = esc(&spec.title),
        code = spec.code,
        number = spec.number,
        check = esc(&spec.check_code),
        area = spec.area,
        total = spec.total,
        date = spec.issue_date,
        uscc = esc(&spec.unit.0),
        uname = esc(&spec.unit.1),
        pcode = esc(&spec.payer.0),
        pname = esc(&spec.payer.1),
    )
}

/// A signed fiscal e-bill: `unit` signs the content, `finance` the supervision
/// content in `form`.
pub fn fiscal_bill(
    spec: &FiscalSpec,
    unit: &BillSigner,
    finance: &BillSigner,
    form: SupervisionForm,
) -> Vec<u8> {
    let content = fiscal_content(spec);
    let time = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        spec.signed_at.year(),
        u8::from(spec.signed_at.month()),
        spec.signed_at.day(),
        spec.signed_at.hour(),
        spec.signed_at.minute(),
        spec.signed_at.second()
    );
    let unit_value = unit.key.sign(content.as_bytes());
    let unit_sig = fiscal_signature(&unit_value, &time, unit);
    let digest = yrdx_signing::sm3(content.as_bytes());
    let supervision = match form {
        SupervisionForm::RawElement => {
            let mut m = digest.to_vec();
            m.extend_from_slice(unit_sig.as_bytes());
            m
        }
        SupervisionForm::HexValue => {
            let mut m = yrdx_signing::hex(&digest).into_bytes();
            m.extend_from_slice(b64(&unit_value).as_bytes());
            m
        }
    };
    let sup_sig = fiscal_signature(&finance.key.sign(&supervision), &time, finance);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EInvoice>{content}<EInvoiceSignature>{unit_sig}{sup_sig}</EInvoiceSignature></EInvoice>\n"
    )
    .into_bytes()
}

/// What a test 数电发票 says.
#[derive(Clone, Debug)]
pub struct SdfpSpec {
    /// 发票号码, 20 digits.
    pub number: String,
    /// EInvoiceTag.
    pub tag: String,
    /// 价税合计 as written.
    pub total: String,
    /// 金额 (without tax) and 税额.
    pub without_tax: String,
    /// 税额.
    pub tax: String,
    /// IssueTime, `yyyy-MM-dd HH:mm:ss`.
    pub issue_time: String,
    /// Seller USCC and name.
    pub seller: (String, String),
    /// Buyer USCC and name.
    pub buyer: (String, String),
    /// Blue (`Y`) or red (`N`).
    pub blue: bool,
    /// The Reference URI list.
    pub references: String,
}

impl SdfpSpec {
    /// A Zhejiang invoice to an Anhui unit.
    pub fn zhejiang(number: &str) -> SdfpSpec {
        SdfpSpec {
            number: number.into(),
            tag: "SWEI3300".into(),
            total: "1060.00".into(),
            without_tax: "1000.00".into(),
            tax: "60.00".into(),
            issue_time: "2026-01-15 10:30:00".into(),
            seller: (
                "91330100MA2B0X0X1K".into(),
                "杭州示例信息技术有限公司".into(),
            ),
            buyer: ("12340100MB0000000A".into(), "合肥市示例研究院".into()),
            blue: true,
            references: "/Einvoice/Header|/Einvoice/EInvoiceData|/Einvoice/SellerAuthentication|\
                         /Einvoice/TaxSupervisionInfo|/Einvoice/TaxBureauSignature/SignatureTime"
                .into(),
        }
    }
}

/// A signed 数电发票: the tax bureau signs the referenced nodes' bytes,
/// concatenated in Reference order.
pub fn sdfp_bill(spec: &SdfpSpec, tax: &BillSigner) -> Vec<u8> {
    let header = format!(
        "<Header><EIid>{n}</EIid><EInvoiceTag>{tag}</EInvoiceTag><Version>0.33</Version>\
         <InherentLabel><InIssuType><LabelCode>{blue}</LabelCode><LabelName>是否蓝字发票标志</LabelName>\
         </InIssuType><EInvoiceType><LabelCode>01</LabelCode><LabelName>电子发票</LabelName></EInvoiceType>\
         <GeneralOrSpecialVAT><LabelCode>02</LabelCode><LabelName>普通发票</LabelName></GeneralOrSpecialVAT>\
         </InherentLabel></Header>",
        n = spec.number,
        tag = spec.tag,
        blue = if spec.blue { "Y" } else { "N" },
    );
    let data = format!(
        "<EInvoiceData><SellerInformation><SellerIdNum>{sid}</SellerIdNum><SellerName>{sname}</SellerName>\
         </SellerInformation><BuyerInformation><BuyerIdNum>{bid}</BuyerIdNum><BuyerName>{bname}</BuyerName>\
         </BuyerInformation><BasicInformation><TotalAmWithoutTax>{wt}</TotalAmWithoutTax>\
         <TotalTaxAm>{tax}</TotalTaxAm><TotalTax-includedAmount>{total}</TotalTax-includedAmount>\
         <Drawer>李四</Drawer><RequestTime>{time}</RequestTime></BasicInformation><IssuItemInformation>\
         <ItemName>*信息技术服务*软件维护</ItemName><Quantity>1</Quantity><UnPrice>{wt}</UnPrice>\
         <Amount>{wt}</Amount><TaxRate>0.060000</TaxRate><ComTaxAm>{tax}</ComTaxAm>\
         <TotaltaxIncludedAmount>{total}</TotaltaxIncludedAmount>\
         <TaxClassificationCode>3040201030000000000</TaxClassificationCode></IssuItemInformation></EInvoiceData>",
        sid = esc(&spec.seller.0),
        sname = esc(&spec.seller.1),
        bid = esc(&spec.buyer.0),
        bname = esc(&spec.buyer.1),
        wt = spec.without_tax,
        tax = spec.tax,
        total = spec.total,
        time = spec.issue_time,
    );
    let auth = "<SellerAuthentication><AuthenticationMethods>01</AuthenticationMethods></SellerAuthentication>";
    let supervision = format!(
        "<TaxSupervisionInfo><InvoiceNumber>{n}</InvoiceNumber><IssueTime>{time}</IssueTime>\
         <TaxBureauCode>13300000000</TaxBureauCode><TaxBureauName>国家税务总局浙江省税务局</TaxBureauName>\
         </TaxSupervisionInfo>",
        n = spec.number,
        time = spec.issue_time,
    );
    let sig_time = format!("<SignatureTime>{}</SignatureTime>", "2026-01-15 10:30:01");
    // The signed content: each referenced node in Reference order.
    let mut content = String::new();
    for path in spec.references.split('|') {
        let last = path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        content.push_str(match last.as_str() {
            "header" => &header,
            "einvoicedata" => &data,
            "sellerauthentication" => auth,
            "taxsupervisioninfo" => &supervision,
            "signaturetime" => &sig_time,
            _ => "",
        });
    }
    let value = tax.key.sign(content.as_bytes());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EInvoice>{header}{data}{auth}{supervision}\
         <TaxBureauSignature><Reference URI=\"{refs}\"/><SignatureAlgorithm>1.2.156.10197.1.501</SignatureAlgorithm>\
         <SignatureFormat>DETACH</SignatureFormat>{sig_time}<SignatureValue>{v}</SignatureValue>\
         <KeyInfo><X509IssuerName>{issuer}</X509IssuerName><SerialNumber>{serial}</SerialNumber></KeyInfo>\
         </TaxBureauSignature></EInvoice>\n",
        refs = esc(&spec.references),
        v = b64(&value),
        issuer = esc(&tax.issuer_text),
        serial = serial_text(&tax.cert),
    )
    .into_bytes()
}

/// Replaces the first `from` by `to` in a bill's bytes (tampering after signing).
pub fn tamper(bill: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(bill);
    text.replacen(from, to, 1).into_bytes()
}

/// Everyone in the bill test world: Jiangsu issues fiscal e-bills, Zhejiang
/// 数电发票, Shanghai's finance department exists to supervise in the wrong
/// region, and an untrusted key signs what nobody should accept.
#[derive(Clone, Debug)]
pub struct BillWorld {
    /// Jiangsu.
    pub js: RegionBills,
    /// Zhejiang.
    pub zj: RegionBills,
    /// Shanghai.
    pub sh: RegionBills,
    /// Anhui.
    pub ah: RegionBills,
    /// A key no certificate belongs to, presenting Jiangsu's unit as its KeyInfo.
    pub impostor: BillSigner,
}

impl BillWorld {
    /// Builds the world; the same every time.
    pub fn new() -> Result<BillWorld> {
        let js = RegionBills::build(Region::Js)?;
        let impostor = BillSigner {
            key: TestKey::from_seed(KeyAlg::Sm2, "yrdx-test-bill-key:impostor")?,
            ..js.unit.clone()
        };
        Ok(BillWorld {
            zj: RegionBills::build(Region::Zj)?,
            sh: RegionBills::build(Region::Sh)?,
            ah: RegionBills::build(Region::Ah)?,
            js,
            impostor,
        })
    }

    /// The regions in federation order.
    pub fn regions(&self) -> [&RegionBills; 4] {
        [&self.sh, &self.js, &self.zj, &self.ah]
    }

    /// A bill trust holding every region's bill PKI.
    pub fn trust(&self) -> std::result::Result<yrdx_signing::BillTrust, yrdx_signing::CertError> {
        let mut trust = yrdx_signing::BillTrust::new();
        for r in self.regions() {
            r.add_to(&mut trust)?;
        }
        Ok(trust)
    }
}

/// The bill vectors of `conformance/vectors/bills/` (README.md there says what
/// each must yield).
pub fn bill_vectors() -> Result<Vec<crate::seal_maker::VectorFile>> {
    use crate::seal_maker::{
        CertListSpec, MakerForm, OfdPackage, SealSpec, SignSpec, Version, World, seal, signature,
    };
    let w = BillWorld::new()?;
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(crate::seal_maker::VectorFile {
            name: name.to_owned(),
            bytes,
        });
    };
    for r in w.regions() {
        let code = r.region.code();
        add(&format!("trust/{code}-bill-root.der"), r.root.der.clone());
        add(&format!("trust/{code}-bill-root.crl"), r.crl.clone());
        add(&format!("trust/{code}-unit.der"), r.unit.cert.der.clone());
        add(
            &format!("trust/{code}-revoked-unit.der"),
            r.revoked_unit.cert.der.clone(),
        );
        add(
            &format!("trust/{code}-finance.der"),
            r.finance.cert.der.clone(),
        );
        add(&format!("trust/{code}-tax.der"), r.tax.cert.der.clone());
    }

    // Fiscal e-bills (Jiangsu).
    let js = &w.js;
    let spec = FiscalSpec::jiangsu("0000000001", "256.80");
    let valid = fiscal_bill(&spec, &js.unit, &js.finance, SupervisionForm::RawElement);
    add("fiscal-valid.xml", valid.clone());
    add(
        "fiscal-supervision-hex-value.xml",
        fiscal_bill(&spec, &js.unit, &js.finance, SupervisionForm::HexValue),
    );
    add(
        "fiscal-tampered-amount.xml",
        tamper(&valid, "<TotalAmount>256.80<", "<TotalAmount>956.80<"),
    );
    add("fiscal-tampered-supervision.xml", {
        // The supervision signature of another bill, spliced in.
        let other = fiscal_bill(
            &FiscalSpec::jiangsu("0000000009", "256.80"),
            &js.unit,
            &js.finance,
            SupervisionForm::RawElement,
        );
        let text = String::from_utf8_lossy(&valid).into_owned();
        let other = String::from_utf8_lossy(&other).into_owned();
        let sup = |t: &str| {
            t.rfind("<Signature>")
                .and_then(|i| t.get(i..))
                .unwrap_or_default()
                .to_owned()
        };
        text.replace(&sup(&text), &sup(&other)).into_bytes()
    });
    add(
        "fiscal-wrong-key.xml",
        fiscal_bill(&spec, &w.impostor, &js.finance, SupervisionForm::RawElement),
    );
    add(
        "fiscal-revoked-unit.xml",
        fiscal_bill(
            &spec,
            &js.revoked_unit,
            &js.finance,
            SupervisionForm::RawElement,
        ),
    );
    add(
        "fiscal-supervisor-other-region.xml",
        fiscal_bill(&spec, &js.unit, &w.sh.finance, SupervisionForm::RawElement),
    );
    add(
        "fiscal-area-mismatch.xml",
        fiscal_bill(
            &FiscalSpec {
                area: "330100".into(),
                ..spec.clone()
            },
            &js.unit,
            &js.finance,
            SupervisionForm::RawElement,
        ),
    );
    add(
        "fiscal-unknown-certificate.xml",
        fiscal_bill(
            &spec,
            &BillSigner {
                issuer_text: "CN=Unknown Bill CA,O=elsewhere,C=CN".into(),
                ..js.unit.clone()
            },
            &js.finance,
            SupervisionForm::RawElement,
        ),
    );
    add(
        "fiscal-red.xml",
        fiscal_bill(
            &FiscalSpec {
                number: "0000000002".into(),
                total: "-256.80".into(),
                reverses: Some(("32010125".into(), "0000000001".into())),
                ..spec.clone()
            },
            &js.unit,
            &js.finance,
            SupervisionForm::RawElement,
        ),
    );
    add(
        "fiscal-outside-federation.xml",
        fiscal_bill(
            &FiscalSpec {
                code: "44060119".into(),
                area: "440600".into(),
                ..spec.clone()
            },
            &js.unit,
            &js.finance,
            SupervisionForm::RawElement,
        ),
    );
    add("fiscal-doctype.xml", {
        let text = String::from_utf8_lossy(&valid).replacen(
            "<EInvoice>",
            "<!DOCTYPE EInvoice [<!ENTITY a \"aaaaaaaaaa\">]><EInvoice>",
            1,
        );
        text.into_bytes()
    });
    add(
        "fiscal-gbk-declared.xml",
        tamper(&valid, "encoding=\"UTF-8\"", "encoding=\"GBK\""),
    );

    // 数电发票 (Zhejiang).
    let zj = &w.zj;
    let sdfp = SdfpSpec::zhejiang("26332000000000000001");
    let sdfp_valid = sdfp_bill(&sdfp, &zj.tax);
    add("sdfp-valid.xml", sdfp_valid.clone());
    add(
        "sdfp-tampered-amount.xml",
        tamper(
            &sdfp_valid,
            "<TotalTax-includedAmount>1060.00<",
            "<TotalTax-includedAmount>9060.00<",
        ),
    );
    add(
        "sdfp-unsigned-data.xml",
        sdfp_bill(
            &SdfpSpec {
                references: "/Einvoice/Header|/Einvoice/TaxSupervisionInfo|/Einvoice/TaxBureauSignature/SignatureTime".into(),
                ..sdfp.clone()
            },
            &zj.tax,
        ),
    );
    add(
        "sdfp-number-mismatch.xml",
        tamper(
            &sdfp_valid,
            "<EIid>26332000000000000001<",
            "<EIid>26332000000000000002<",
        ),
    );

    // A 数电发票 in an OFD package sealed by the Zhejiang seal signer.
    let seals = World::new()?;
    let seal_spec = SealSpec {
        version: Version::V4,
        es_id: "330100000000009".into(),
        name: "Zhejiang Test Invoice Seal".into(),
        created: datetime!(2025-01-01 00:00:00 UTC),
        valid_start: datetime!(2025-01-01 00:00:00 UTC),
        valid_end: datetime!(2027-06-01 00:00:00 UTC),
        cert_list: CertListSpec::Certificates(vec![seals.zj.signer.cert.der.clone()]),
        maker_form: MakerForm::SealInfo,
        v1_generalized_times: false,
        explicit_critical_false: false,
        seal_timestamp: None,
    };
    let sign = |xml: &[u8], path: &str| -> Result<(Vec<u8>, Vec<u8>)> {
        let s = seal(
            &seal_spec,
            &seals.zj.maker.key,
            &seals.zj.maker.cert.der,
            None,
        )?;
        let spec = SignSpec::plain(
            Version::V4,
            BILL_SIGNED_AT,
            yrdx_signing::sm3(xml).to_vec(),
            path.to_owned(),
        );
        Ok((
            signature(
                &spec,
                &s,
                &seals.zj.signer.key,
                &seals.zj.signer.cert.der,
                None,
            )?,
            s,
        ))
    };
    let mut doc = OfdPackage::document("电子发票（普通发票） 26332000000000000001");
    doc.set("Doc_0/Attachs/invoice.xml", sdfp_valid.clone());
    doc.sign(0, &sign)?;
    add("sdfp-valid.ofd", doc.zip()?);
    let mut edited = doc.clone();
    edited.set(
        "Doc_0/Attachs/invoice.xml",
        tamper(
            &sdfp_valid,
            "<TotalTax-includedAmount>1060.00<",
            "<TotalTax-includedAmount>9060.00<",
        ),
    );
    add("sdfp-tampered.ofd", edited.zip()?);
    Ok(out)
}
