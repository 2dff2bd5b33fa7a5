//! Minimal but well-formed OFD packages, signed like producers sign them, plus the
//! hostile ZIPs the reader must refuse.

use std::io::Write as _;

use base64::Engine as _;
use zip::write::SimpleFileOptions;

use super::ses::tamper;
use super::{MakerError, Result};

/// A package's files, in order.
#[derive(Clone, Debug, Default)]
pub struct OfdPackage {
    /// `(name, bytes)`.
    pub entries: Vec<(String, Vec<u8>)>,
}

/// How one signature is made once its Signature.xml exists: given the bytes of
/// Signature.xml and its path, return the DER SES_Signature and the Seal.esl bytes.
pub type SignFn<'a> = dyn Fn(&[u8], &str) -> Result<(Vec<u8>, Vec<u8>)> + 'a;

impl OfdPackage {
    /// The path of the one page of a [`OfdPackage::document`].
    pub const PAGE: &str = "Doc_0/Pages/Page_0/Content.xml";

    /// A one-page document with the licence face `text`.
    pub fn document(text: &str) -> OfdPackage {
        let ofd = r#"<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">
  <ofd:DocBody>
    <ofd:DocInfo><ofd:DocID>yrdx-test-licence</ofd:DocID><ofd:Title>电子证照</ofd:Title></ofd:DocInfo>
    <ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>
    <ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>
  </ofd:DocBody>
</ofd:OFD>
"#;
        let document = r#"<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016">
  <ofd:CommonData><ofd:MaxUnitID>10</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>
  <ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>
</ofd:Document>
"#;
        let page = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">
  <ofd:Content><ofd:Layer ID="2"><ofd:TextObject ID="3" Boundary="20 20 170 10" Font="4" Size="5"><ofd:TextCode X="0" Y="5">{text}</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content>
</ofd:Page>
"#
        );
        OfdPackage {
            entries: vec![
                ("OFD.xml".into(), ofd.as_bytes().to_vec()),
                ("Doc_0/Document.xml".into(), document.as_bytes().to_vec()),
                (Self::PAGE.into(), page.into_bytes()),
            ],
        }
    }

    /// Adds signature number `index` (folder `Sign_{index}`) protecting every file
    /// already there except Signatures.xml, and rewrites Signatures.xml.
    pub fn sign(&mut self, index: usize, sign: &SignFn<'_>) -> Result<()> {
        let dir = format!("Doc_0/Signs/Sign_{index}");
        let refs: String = self
            .entries
            .iter()
            .filter(|(name, _)| name != "Doc_0/Signs/Signatures.xml")
            .map(|(name, bytes)| {
                let digest = base64::engine::general_purpose::STANDARD.encode(yrdx_signing::sm3(bytes));
                format!("      <ofd:Reference FileRef=\"/{name}\"><ofd:CheckValue>{digest}</ofd:CheckValue></ofd:Reference>\n")
            })
            .collect();
        let sig_xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016">
  <ofd:SignedInfo>
    <ofd:Provider ProviderName="yrdx test signer" Version="1.0" Company="yrdx"/>
    <ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>
    <ofd:SignatureDateTime>20250601080000Z</ofd:SignatureDateTime>
    <ofd:References CheckMethod="1.2.156.10197.1.401">
{refs}    </ofd:References>
    <ofd:StampAnnot ID="{id}" PageRef="1" Boundary="120 200 40 40"/>
    <ofd:Seal><ofd:BaseLoc>/{dir}/Seal.esl</ofd:BaseLoc></ofd:Seal>
  </ofd:SignedInfo>
  <ofd:SignedValue>/{dir}/SignedValue.dat</ofd:SignedValue>
</ofd:Signature>
"#,
            id = index + 100
        );
        let sig_path = format!("/{dir}/Signature.xml");
        let (signed_value, seal) = sign(sig_xml.as_bytes(), &sig_path)?;
        self.entries
            .push((format!("{dir}/Signature.xml"), sig_xml.into_bytes()));
        self.entries
            .push((format!("{dir}/SignedValue.dat"), signed_value));
        self.entries.push((format!("{dir}/Seal.esl"), seal));
        self.write_signature_list(index + 1);
        Ok(())
    }

    fn write_signature_list(&mut self, count: usize) {
        let items: String = (0..count)
            .map(|i| format!("  <ofd:Signature ID=\"{}\" Type=\"Seal\" BaseLoc=\"Sign_{i}/Signature.xml\"/>\n", i + 1))
            .collect();
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signatures xmlns:ofd=\"http://www.ofdspec.org/2016\">\n  <ofd:MaxSignId>{count}</ofd:MaxSignId>\n{items}</ofd:Signatures>\n"
        );
        self.set("Doc_0/Signs/Signatures.xml", xml.into_bytes());
    }

    /// Replaces (or adds) one file.
    pub fn set(&mut self, name: &str, bytes: Vec<u8>) {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = bytes,
            None => self.entries.push((name.to_owned(), bytes)),
        }
    }

    /// Replaces the first `from` in the page by `to` (of the same length): once
    /// signed, a package whose page no longer matches its signatures.
    pub fn tamper_page(&mut self, from: &str, to: &str) -> Result<()> {
        let edited = tamper(
            self.get(Self::PAGE).unwrap_or_default(),
            from.as_bytes(),
            to.as_bytes(),
        )?;
        self.set(Self::PAGE, edited);
        Ok(())
    }

    /// The bytes of one file.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// The ZIP package (deflate, fixed timestamps: byte-identical on every run).
    pub fn zip(&self) -> Result<Vec<u8>> {
        zip_entries(self.entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
    }
}

/// Zips `(name, bytes)` pairs as given — names are not checked, so hostile
/// packages can be made too.
pub fn zip_entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer
            .start_file(name, options)
            .map_err(|e| MakerError::Zip(e.to_string()))?;
        writer
            .write_all(bytes)
            .map_err(|e| MakerError::Zip(e.to_string()))?;
    }
    let cursor = writer
        .finish()
        .map_err(|e| MakerError::Zip(e.to_string()))?;
    Ok(cursor.into_inner())
}
