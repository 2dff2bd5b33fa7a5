//! The authorisation decision: which responsibility-list entry, if any, lets a
//! consumer take a resource now ([`Registry::authorize`]).

use serde_json::{Map, Value};
use time::Date;
use yrdx_adapters::ItemType;
use yrdx_signing::{MemberId, Region, Uscc};

use super::{Entry, EntryStatus, Member, Registry, Resource, SharingType};
use crate::error::Refusal;

/// What a consumer asks for, as the authorize stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The identified consumer.
    pub consumer: &'a MemberId,
    /// The catalogue resource.
    pub resource: &'a str,
    /// The declared purpose.
    pub purpose: &'a str,
    /// The service item code, if given.
    pub service_item: Option<&'a str>,
    /// The case number, if given.
    pub case_no: Option<&'a str>,
    /// An explicit provider: a member id or a region code.
    pub provider: Option<&'a str>,
    /// The request key, for routing by area code.
    pub key: &'a Map<String, Value>,
    /// Today in China Standard Time.
    pub today: Date,
}

/// What authorize grants: the entry that allows the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'r> {
    /// The responsibility-list entry.
    pub entry: &'r Entry,
    /// The catalogue resource.
    pub resource: &'r Resource,
    /// The provider member.
    pub provider: &'r Member,
}

impl Registry {
    /// Finds the entry that lets `ask.consumer` take `ask.resource` now.
    ///
    /// The checks run in this order, and the refusal names the first that
    /// leaves no entry: resource in the catalogue; provider (named, or routed by
    /// the key's area code); not-shared rows (refused citing their legal basis);
    /// consumer listed (by id or group); in force today; for conditional rows
    /// the purpose; the service item (one the row lists; none when it lists
    /// none; required on a conditional row that lists some); for conditional
    /// rows that require one, a case number; and the case number's shape where
    /// the row sets a pattern.
    pub fn authorize(&self, ask: &Ask<'_>) -> Result<Grant<'_>, Refusal> {
        let resource = self
            .resources
            .get(ask.resource)
            .ok_or(Refusal::UnknownResource)?;
        let consumer = self.members.get(ask.consumer).ok_or(Refusal::NotInList)?;
        let mut candidates: Vec<&Entry> = self
            .by_resource
            .get(ask.resource)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.entries.get(i))
            .filter(|e| e.status == EntryStatus::Active)
            .collect();
        if let Some(hint) = ask.provider {
            candidates.retain(|e| provider_matches(&e.provider, hint));
        } else if let Some(region) = routed_region(resource, ask.key)? {
            candidates.retain(|e| e.provider.region() == region);
        }
        if candidates.is_empty() {
            return Err(Refusal::NotInList);
        }
        if resource.sharing_type == SharingType::NotShared
            || candidates
                .iter()
                .all(|e| e.sharing(resource) == SharingType::NotShared)
        {
            let basis = candidates
                .iter()
                .find(|e| e.sharing(resource) == SharingType::NotShared)
                .and_then(|e| e.legal_basis.clone())
                .or_else(|| resource.sharing_conditions.clone())
                .unwrap_or_default();
            return Err(Refusal::NotShared { legal_basis: basis });
        }
        candidates.retain(|e| e.sharing(resource) != SharingType::NotShared);

        let listed: Vec<&Entry> = candidates
            .into_iter()
            .filter(|e| e.lists(consumer))
            .collect();
        if listed.is_empty() {
            return Err(Refusal::NotInList);
        }
        let in_force: Vec<&Entry> = listed
            .iter()
            .copied()
            .filter(|e| e.valid_from <= ask.today && ask.today <= e.valid_to)
            .collect();
        if in_force.is_empty() {
            let expired = listed.iter().find(|e| e.valid_to < ask.today);
            return Err(match expired {
                Some(e) => Refusal::EntryExpired {
                    entry: e.id.clone(),
                    valid_to: e.valid_to,
                },
                None => Refusal::EntryNotYetValid,
            });
        }
        let conditional = |e: &&Entry| e.sharing(resource) == SharingType::Conditional;
        let for_purpose: Vec<&Entry> = in_force
            .into_iter()
            .filter(|e| !conditional(e) || e.purposes.iter().any(|p| p == ask.purpose))
            .collect();
        if for_purpose.is_empty() {
            return Err(Refusal::PurposeNotAllowed);
        }
        // A service item must be one the row lists: a row that lists none
        // takes no service item at all (it is refused, not ignored). A
        // conditional row that lists some requires one.
        let for_item: Vec<&Entry> = for_purpose
            .iter()
            .copied()
            .filter(|e| match ask.service_item {
                Some(s) => e.service_items.iter().any(|x| x == s),
                None => !conditional(e) || e.service_items.is_empty(),
            })
            .collect();
        if for_item.is_empty() {
            return Err(match ask.service_item {
                None => Refusal::ServiceItemRequired,
                Some(_) => Refusal::ServiceItemNotAllowed,
            });
        }
        let with_case: Vec<&Entry> = for_item
            .iter()
            .copied()
            .filter(|e| !conditional(e) || !e.case_no_required || ask.case_no.is_some())
            .collect();
        if with_case.is_empty() {
            return Err(Refusal::CaseNumberRequired);
        }
        // A case number sent for a row that sets a pattern has its shape.
        let shaped: Vec<&Entry> = with_case
            .iter()
            .copied()
            .filter(|e| match (&e.case_no_pattern, ask.case_no) {
                (Some(pattern), Some(case_no)) => super::case_no::matches(pattern, case_no),
                _ => true,
            })
            .collect();
        let entry = match shaped.as_slice() {
            [] => {
                let pattern = with_case
                    .iter()
                    .find_map(|e| e.case_no_pattern.clone())
                    .unwrap_or_default();
                return Err(Refusal::CaseNumberInvalid { pattern });
            }
            [one] => *one,
            _ => return Err(Refusal::AmbiguousProvider),
        };
        let provider = self
            .members
            .get(&entry.provider)
            .ok_or(Refusal::NotInList)?;
        Ok(Grant {
            entry,
            resource,
            provider,
        })
    }
}

fn provider_matches(provider: &MemberId, hint: &str) -> bool {
    match hint.parse::<Region>() {
        Ok(region) => provider.region() == region,
        Err(_) => provider.to_string() == hint,
    }
}

/// The region named by the area code inside the resource's routing key, if the
/// resource routes and the key carries it: USCC positions 3–4, resident id or
/// area code positions 1–2.
fn routed_region(resource: &Resource, key: &Map<String, Value>) -> Result<Option<Region>, Refusal> {
    let Some(field) = resource.route_by.as_ref() else {
        return Ok(None);
    };
    let Some(def) = resource.key.iter().find(|k| &k.name == field) else {
        return Ok(None);
    };
    let Some(value) = key.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let invalid = || Refusal::InvalidRoutingKey {
        field: field.clone(),
        expected: def.ty.to_string(),
    };
    let prefix = match def.ty {
        ItemType::Uscc => Uscc::parse(value)
            .map_err(|_| invalid())?
            .area_code()
            .get(..2)
            .map(str::to_owned),
        ItemType::ResidentId => {
            yrdx_signing::check_resident_id(value).map_err(|_| invalid())?;
            value.get(..2).map(str::to_owned)
        }
        _ => value
            .get(..2)
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned),
    }
    .ok_or_else(invalid)?;
    // A code from outside the four provinces matches no provider.
    Ok(Some(
        Region::ALL
            .into_iter()
            .find(|r| r.area_prefix() == prefix)
            .ok_or(Refusal::NotInList)?,
    ))
}
