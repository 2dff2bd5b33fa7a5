//! Identify: the member behind the connection's certificate must be registered
//! and active now. The certificate itself was checked once per connection
//! (`crate::identity`); membership is checked per request because the registry
//! can change under a long-lived connection. A member that binds its
//! certificates (by SHA-256 fingerprint) is only served on one of them.

use yrdx_registry::{MemberStatus, Registry};
use yrdx_signing::MemberId;

use crate::identity::Peer;
use crate::problem::Problem;

/// The calling member, registered and active.
pub fn run<'p>(registry: &Registry, peer: &'p Peer) -> Result<&'p MemberId, Problem> {
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
    Ok(id)
}
