//! Who is on the other end of a connection, decided once per connection from
//! its verified client certificate: the member id in the SAN URI, and whether
//! the member's own region's CA vouches for it.

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use yrdx_signing::{MEMBER_URI_PREFIX, MemberId};

use crate::problem::Problem;
use crate::tls::Federation;

/// The identity of a connection's peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// No client certificate.
    Anonymous,
    /// A certificate that names no member, or names several.
    NotAMember,
    /// A certificate naming a member of another region than its issuing CA.
    RegionMismatch {
        /// The member the certificate claims.
        claimed: MemberId,
    },
    /// A member, vouched for by its own region.
    Member {
        /// The member the certificate names.
        id: MemberId,
        /// SHA-256 of the certificate, for members that bind their certificates.
        fingerprint: [u8; 32],
    },
}

impl Peer {
    /// The member, or the problem that refuses every request on this connection.
    pub fn member(&self) -> Result<&MemberId, Problem> {
        match self {
            Peer::Anonymous => Err(Problem::NoClientCertificate),
            Peer::NotAMember => Err(Problem::NotAMemberCertificate),
            Peer::RegionMismatch { .. } => Err(Problem::RegionMismatch),
            Peer::Member { id, .. } => Ok(id),
        }
    }

    /// The member id the certificate claims, verified or not, for the record.
    pub fn claimed(&self) -> Option<&MemberId> {
        match self {
            Peer::RegionMismatch { claimed } | Peer::Member { id: claimed, .. } => Some(claimed),
            Peer::Anonymous | Peer::NotAMember => None,
        }
    }
}

/// Identifies the peer from the chain rustls verified during the handshake.
pub fn identify(federation: &Federation, chain: Option<&[CertificateDer<'static>]>) -> Peer {
    let Some((end_entity, intermediates)) = chain.and_then(<[_]>::split_first) else {
        return Peer::Anonymous;
    };
    let Some(member) = member_of(end_entity) else {
        return Peer::NotAMember;
    };
    if federation.vouches(member.region(), end_entity, intermediates) {
        Peer::Member {
            id: member,
            fingerprint: yrdx_signing::sha256(end_entity.as_ref()),
        }
    } else {
        Peer::RegionMismatch { claimed: member }
    }
}

/// The one member a certificate names in its SAN URIs.
pub fn member_of(cert: &CertificateDer<'_>) -> Option<MemberId> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let san = parsed.subject_alternative_name().ok()??;
    let mut members = san.value.general_names.iter().filter_map(|n| match n {
        GeneralName::URI(uri) if uri.starts_with(MEMBER_URI_PREFIX) => {
            Some(MemberId::from_uri(uri))
        }
        _ => None,
    });
    match (members.next(), members.next()) {
        (Some(Ok(m)), None) => Some(m),
        _ => None,
    }
}
