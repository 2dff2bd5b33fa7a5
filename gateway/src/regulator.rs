//! Regulator-only APIs: the member behind the certificate must hold the
//! regulator role in the registry version in force.

use yrdx_registry::{MemberStatus, Registry, Role};
use yrdx_signing::MemberId;

use crate::identity::Peer;
use crate::problem::Problem;

/// The regulator calling, or the problem that refuses the call.
pub fn require(registry: &Registry, peer: &Peer) -> Result<MemberId, Problem> {
    let id = peer.member()?;
    let member = registry.member(id).ok_or(Problem::UnknownMember)?;
    if member.status != MemberStatus::Active {
        return Err(Problem::MemberInactive);
    }
    if let Peer::Member { fingerprint, .. } = peer
        && !member.accepts_certificate(fingerprint)
    {
        return Err(Problem::CertificateNotBound);
    }
    if !member.has_role(Role::Regulator) {
        return Err(Problem::NotARegulator);
    }
    Ok(id.clone())
}
