//! The exchange listener's client-certificate checks, by real handshakes in
//! memory against certificates of the project's own development PKI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a panic is a failing test"
)]

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConnection, RootCertStore, ServerConnection};
use time::OffsetDateTime;
use yrdx_conformance::pki::{
    self, CertPaths, ClientCert, KeyUsagePurpose, Oddities, PkiLayout, PkiSpec,
};
use yrdx_gateway::Config;
use yrdx_gateway::problem::Problem;
use yrdx_gateway::tls::{CrlState, load_certs, load_key, provider, server};
use yrdx_signing::{MemberId, Region};

const SH: &str = "sh:11310000MB1X47335F:audit";
const JS: &str = "js:11320000014000118J:data";
const ZJ: &str = "zj:11330000002482028A:data";

fn member(id: &str) -> MemberId {
    id.parse().unwrap()
}

/// A PKI and a configuration trusting every region's CA, with CRLs only
/// for the regions in `with_crls`.
fn node(dir: &Path, with_crls: &[Region]) -> (PkiLayout, Config) {
    node_with(dir, with_crls, "")
}

/// [`node`] with more `[tls]` keys.
fn node_with(dir: &Path, with_crls: &[Region], tls: &str) -> (PkiLayout, Config) {
    let spec = PkiSpec {
        gateway: member(SH),
        clients: [SH, JS, ZJ]
            .iter()
            .map(|m| ClientCert::for_member(&member(m)))
            .collect(),
        providers: Vec::new(),
    };
    let layout = pki::init(&dir.join("pki"), &spec, OffsetDateTime::now_utc()).unwrap();
    let mut text = String::from("node = \"gw-1\"\n[listen]\nexchange = \"127.0.0.1:0\"\n");
    let server = layout.gateway_server();
    let up = layout.gateway_upstream();
    text += &format!(
        "[tls]\ncert = {:?}\nkey = {:?}\n{tls}[upstream]\ncert = {:?}\nkey = {:?}\nca = {:?}\n",
        server.cert,
        server.key,
        up.cert,
        up.key,
        layout.ca_bundle()
    );
    for region in Region::ALL {
        text += &format!(
            "[trust.{}]\nca = {:?}\n",
            region.code(),
            layout.ca(region).cert
        );
        if with_crls.contains(&region) {
            text += &format!("crls = [{:?}]\n", layout.crl(region));
        }
    }
    for f in ["members.toml", "log.key"] {
        std::fs::write(dir.join(f), "x").unwrap();
    }
    std::fs::create_dir_all(dir.join("adapters")).unwrap();
    text += "[store]\nurl = \"sqlite:yrdx.db\"\n[log]\norigin = \"yrdx.test/log\"\nkey = \"log.key\"\n\
             [registry]\nfiles = [\"members.toml\"]\n[adapters]\ndir = \"adapters\"\n";
    let config = Config::parse(&dir.join("yrdx.toml"), &text).unwrap();
    (layout, config)
}

/// A handshake in memory with the client certificate at `client`; the
/// server's verdict.
fn handshake(config: &Config, layout: &PkiLayout, client: &CertPaths) -> Result<(), rustls::Error> {
    let (server, _) = server(config).unwrap();
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&layout.ca_bundle()).unwrap() {
        roots.add(ca).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            load_certs(&client.cert).unwrap(),
            load_key(&client.key).unwrap(),
        )
        .unwrap();
    let mut c = ClientConnection::new(Arc::new(client), "localhost".try_into().unwrap()).unwrap();
    let mut s = ServerConnection::new(server).unwrap();
    for _ in 0..8 {
        let mut bytes = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut bytes).unwrap();
        }
        s.read_tls(&mut &bytes[..]).unwrap();
        s.process_new_packets()?;
        let mut bytes = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut bytes).unwrap();
        }
        c.read_tls(&mut &bytes[..]).unwrap();
        // The client's own errors are the server's alerts: not the verdict.
        let _ = c.process_new_packets();
        if !s.is_handshaking() {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

/// CRLs for one region check that region's members only: every other
/// region's members are served as before, and a member revoked in the
/// region with CRLs is refused.
#[test]
fn one_regions_crls_never_refuse_another_regions_members() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, config) = node(dir.path(), &[Region::Js]);
    for m in [SH, JS, ZJ] {
        let stem = pki::stem_of(&member(m));
        let got = handshake(&config, &layout, &layout.client(&stem));
        assert!(got.is_ok(), "{m}: {got:?}");
    }
    let js = layout.client(&pki::stem_of(&member(JS)));
    pki::revoke(&layout, Region::Js, &js.cert, OffsetDateTime::now_utc()).unwrap();
    let (_, config) = node(dir.path(), &[Region::Js]);
    let got = handshake(&config, &layout, &js);
    assert!(
        matches!(
            got,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        ),
        "{got:?}"
    );
}

/// A certificate whose key may only sign certificates and CRLs is not a
/// member's, though its CA issued it for a member.
#[test]
fn a_certificate_whose_key_may_not_sign_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, config) = node(dir.path(), &[]);
    let mut odd = Oddities::none(&member(JS), OffsetDateTime::now_utc());
    odd.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let paths = pki::issue_odd_client(&layout, Region::Js, "js_ca_usage", &odd).unwrap();
    let got = handshake(&config, &layout, &paths);
    let Err(e) = got else { panic!("accepted") };
    let io = std::io::Error::other(e);
    assert_eq!(
        Problem::from_handshake(&io).map(|p| p.code()),
        Some("certificate_invalid")
    );
    let odd = Oddities::none(&member(JS), OffsetDateTime::now_utc());
    let paths = pki::issue_odd_client(&layout, Region::Js, "js_fine", &odd).unwrap();
    assert!(handshake(&config, &layout, &paths).is_ok());
}

/// The problem code a refused handshake is recorded with.
fn refusal_code(got: Result<(), rustls::Error>) -> Option<&'static str> {
    let e = got.err()?;
    Problem::from_handshake(&std::io::Error::other(e)).map(|p| p.code())
}

/// The certificate zoo: each odd certificate, issued by a trusted region's CA
/// for a member, is refused at the handshake with its own code, or — where
/// the handshake cannot tell (no member named, several) — accepted there and
/// named no member, so every API refuses it.
#[test]
fn odd_certificates_are_refused_each_for_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, config) = node(dir.path(), &[Region::Js]);
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let js = member(JS);
    let well = Oddities::none(&js, now);
    let cases: Vec<(&str, Oddities, Option<&str>)> = vec![
        (
            "expired",
            Oddities {
                not_before: now - day * 30,
                not_after: now - day,
                ..well.clone()
            },
            Some("certificate_expired"),
        ),
        (
            "not_yet_valid",
            Oddities {
                not_before: now + day,
                not_after: now + day * 30,
                ..well.clone()
            },
            Some("certificate_invalid"),
        ),
        (
            "ca_leaf",
            Oddities {
                ca: true,
                key_usages: vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyCertSign,
                ],
                ..well.clone()
            },
            Some("certificate_invalid"),
        ),
        (
            "no_usage_but_signing",
            Oddities {
                key_usages: vec![KeyUsagePurpose::KeyEncipherment],
                ..well.clone()
            },
            Some("certificate_invalid"),
        ),
        ("well_formed", well.clone(), None),
    ];
    for (stem, odd, code) in cases {
        let paths = pki::issue_odd_client(&layout, Region::Js, stem, &odd).unwrap();
        let got = handshake(&config, &layout, &paths);
        assert_eq!(refusal_code(got), code, "{stem}");
    }
    // Named members the handshake cannot judge: none, or two.
    for (stem, members) in [
        ("no_member", vec![]),
        ("two_members", vec![js.clone(), member(ZJ)]),
    ] {
        let odd = Oddities {
            members,
            ..well.clone()
        };
        let paths = pki::issue_odd_client(&layout, Region::Js, stem, &odd).unwrap();
        assert!(handshake(&config, &layout, &paths).is_ok(), "{stem}");
        let cert = load_certs(&paths.cert).unwrap().remove(0);
        assert_eq!(yrdx_gateway::identity::member_of(&cert), None, "{stem}");
    }
    // Revoked where its region checks revocation.
    let paths = pki::issue_odd_client(&layout, Region::Js, "revoked", &well).unwrap();
    pki::revoke(&layout, Region::Js, &paths.cert, now).unwrap();
    let (_, config) = node(dir.path(), &[Region::Js]);
    assert_eq!(
        refusal_code(handshake(&config, &layout, &paths)),
        Some("certificate_revoked")
    );
}

/// A region's CRL past its nextUpdate is still used within
/// `tls.crl_grace_hours`; after the grace the node fails closed: the
/// region's members are refused (revocation unknown) while other regions'
/// members are served, and the federation reports the state `/readyz`, the
/// metric and the log line read.
#[test]
fn a_crl_past_its_next_update_fails_closed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = node(dir.path(), &[Region::Js]);
    let now = OffsetDateTime::now_utc();
    // A CRL issued 40 days ago (revoking some other certificate): its
    // nextUpdate, 30 days after, was 10 days ago.
    let odd = Oddities::none(&member(JS), now);
    let other = pki::issue_odd_client(&layout, Region::Js, "js_other", &odd).unwrap();
    pki::revoke(
        &layout,
        Region::Js,
        &other.cert,
        now - time::Duration::days(40),
    )
    .unwrap();
    let js = layout.client(&pki::stem_of(&member(JS)));
    let sh = layout.client(&pki::stem_of(&member(SH)));

    // The default grace (24 h) is over.
    let (_, config) = node(dir.path(), &[Region::Js]);
    assert_eq!(
        refusal_code(handshake(&config, &layout, &js)),
        Some("certificate_revocation_unknown")
    );
    assert!(handshake(&config, &layout, &sh).is_ok());
    let (_, federation) = server(&config).unwrap();
    let status = federation.crl_status(now);
    assert_eq!(status.len(), 1, "{status:?}");
    assert_eq!(status[0].region, Region::Js);
    assert_eq!(status[0].state, CrlState::PastGrace);
    assert!(!federation.vouches(Region::Js, &load_certs(&js.cert).unwrap()[0], &[]));

    // A grace of 15 days still covers it: used, with the state saying so.
    let (_, config) = node_with(dir.path(), &[Region::Js], "crl_grace_hours = 360\n");
    assert!(handshake(&config, &layout, &js).is_ok());
    let (_, federation) = server(&config).unwrap();
    assert_eq!(federation.crl_status(now)[0].state, CrlState::InGrace);
    // And once the grace has run out, the same node refuses.
    assert_eq!(
        federation.crl_status(now + time::Duration::days(6))[0].state,
        CrlState::PastGrace
    );

    // A current CRL is current.
    pki::revoke(&layout, Region::Js, &other.cert, now).unwrap();
    let (_, config) = node(dir.path(), &[Region::Js]);
    assert!(handshake(&config, &layout, &js).is_ok());
    let (_, federation) = server(&config).unwrap();
    assert_eq!(federation.crl_status(now)[0].state, CrlState::Current);
}
