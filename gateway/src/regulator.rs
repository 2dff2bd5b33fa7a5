//! Who may read the exchange log through the API: registered, active members
//! holding the regulator role. Checked per request, like every identity,
//! because the registry can change under a long-lived connection.

use yrdx_registry::{Registry, Role};
use yrdx_signing::MemberId;

use crate::identity::Peer;
use crate::pipeline::identify;
use crate::problem::Problem;

/// The calling regulator, or why the caller is refused: the identity problems
/// every API has (no certificate, unknown or suspended member, region
/// mismatch), then `not_a_regulator` for any other member.
pub fn require<'p>(registry: &Registry, peer: &'p Peer) -> Result<&'p MemberId, Problem> {
    let id = identify::run(registry, peer)?;
    match registry.member(id) {
        Some(member) if member.has_role(Role::Regulator) => Ok(id),
        _ => Err(Problem::NotARegulator),
    }
}
