//! `yrdx verify`: one seal, signature or OFD file checked offline against the
//! trust files named on the command line, the report printed for people or
//! (`--json`) for tools, and the result in the exit status: 0 valid, 1 invalid,
//! 3 indeterminate; 2 (from `main`) for usage errors and unreadable input.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yrdx_signing::{Outcome, Region, TrustStore};

use super::VerifyArgs;
use crate::seals::{self, TrustKind};

/// Runs `yrdx verify`, writing the report to `out`.
pub fn run(args: &VerifyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let at = match &args.at {
        None => yrdx_registry::now(),
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .with_context(|| format!("--at {t}: expected an RFC 3339 time"))?,
    };
    let trust = trust_store(&args.trust, &args.crl)?;
    let bytes = read(&args.file)?;
    let data = args.data.as_deref().map(read).transpose()?;
    // Not DER and not a ZIP package: no seal, signature or OFD document at
    // all, which is unusable input (exit 2), not an invalid signature.
    if seals::Kind::detect(&bytes) == seals::Kind::Unrecognised && bytes.first() != Some(&0x30) {
        anyhow::bail!(
            "{}: not a seal, signature or OFD document (neither an OFD package nor a DER SESeal or SES_Signature); nothing was verified",
            args.file.display()
        );
    }
    let verified = seals::verify(&bytes, data.as_deref(), &trust, at)
        .with_context(|| args.file.display().to_string())?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &verified.to_json())?;
        writeln!(out)?;
    } else {
        write!(
            out,
            "{}",
            verified.to_text(&args.file.display().to_string())
        )?;
    }
    Ok(ExitCode::from(match verified.outcome() {
        Outcome::Valid => 0,
        Outcome::Invalid => 1,
        Outcome::Indeterminate => 3,
    }))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `[REGION=]FILE` trust arguments and CRL files as a trust store.
fn trust_store(trust: &[String], crls: &[std::path::PathBuf]) -> anyhow::Result<TrustStore> {
    let mut store = TrustStore::new();
    for arg in trust {
        let (regions, file) = match arg.split_once('=') {
            Some((r, f)) if r.parse::<Region>().is_ok() => {
                (r.parse::<Region>().into_iter().collect(), f)
            }
            // A short word before `=` is meant as a region, not part of a
            // file name.
            Some((r, _))
                if !r.is_empty() && r.len() <= 8 && r.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                anyhow::bail!(
                    "--trust {arg}: unknown region `{r}`; the regions are sh, js, zj and ah (or give FILE alone for every region)"
                )
            }
            _ => (Region::ALL.to_vec(), arg.as_str()),
        };
        let path = Path::new(file);
        let key = format!("--trust {arg}");
        let blocks = seals::der_blocks(&read(path)?)
            .map_err(|e| anyhow::anyhow!("{key}: {}: {e}", path.display()))?;
        for der in blocks {
            if seals::is_self_issued(&der) {
                for region in &regions {
                    store
                        .add_seal_anchor(*region, &der)
                        .with_context(|| key.clone())?;
                }
            } else {
                store.add_intermediate(&der).with_context(|| key.clone())?;
            }
        }
    }
    for (i, path) in crls.iter().enumerate() {
        seals::add_file(&mut store, &format!("--crl [{i}]"), path, TrustKind::Crl)?;
    }
    Ok(store)
}
