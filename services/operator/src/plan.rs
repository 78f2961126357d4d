//! The reconcile decision as a pure function: from the resource's spec and status, the competing
//! resources and the committee the tenants service holds under the same code, to a plan. No I/O
//! here, so every rule is unit-tested beside it.
//!
//! # Ownership
//!
//! A `Committee` resource *owns* the tenants-service committee whose id is in its
//! `status.committeeId`. A resource without that id may *adopt* the committee carrying its code
//! only if the committee's name, level and parent code all equal the spec — it then describes
//! exactly what exists, e.g. after the resource was deleted (the committee was suspended) and
//! applied again. Anything else is a `CodeConflict`, and nothing is written.
//!
//! Among several resources in the cluster with the same `spec.code`, exactly one is the
//! *claimant*: the smallest by (holds a `status.committeeId` first, then oldest
//! `creationTimestamp`, then namespace, then name). The others are `CodeConflict` and write
//! nothing, whatever the tenants service holds.

use crate::crd::{CommitteeLevel, CommitteeSpec, CommitteeStatus};

/// The committee as the tenants service reports it, reduced to what the decision needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub id: String,
    pub code: String,
    pub name: String,
    pub level: Option<CommitteeLevel>,
    pub parent_code: Option<String>,
    pub suspended: bool,
    pub etag: String,
}

/// Why the resource is not (or not yet) Ready; the `reason` of its `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The committee matches the spec.
    Reconciled,
    /// The spec is invalid (also when the tenants service rejects it as invalid).
    InvalidSpec,
    /// Another resource claims the code, or a committee with the code exists that this resource
    /// neither owns nor may adopt.
    CodeConflict,
    /// The parent committee does not exist (yet) in the tenants service.
    ParentNotFound,
    /// The owned committee's level or parent differs from the spec; both are immutable.
    ImmutableFieldChanged,
    /// The tenants service could not be reached, or failed.
    TenantsUnavailable,
    /// The operator's account was refused by the tenants service.
    TenantsAuthFailed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Reconciled => "Reconciled",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::CodeConflict => "CodeConflict",
            Reason::ParentNotFound => "ParentNotFound",
            Reason::ImmutableFieldChanged => "ImmutableFieldChanged",
            Reason::TenantsUnavailable => "TenantsUnavailable",
            Reason::TenantsAuthFailed => "TenantsAuthFailed",
        }
    }
}

/// One write to bring an owned committee to its spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// UpdateCommittee with `update_mask: name` and the observed etag.
    Rename {
        to: String,
    },
    Suspend,
    Reactivate,
}

/// What the reconciler does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Write nothing; report `reason` on the Ready condition.
    Blocked { reason: Reason, message: String },
    /// No committee has the code: create it (parent resolved by code), then its first admin.
    Create,
    /// The committee is ours (or adopted now): apply `steps`, in order. On adoption the first
    /// admin is ensured too, since a create interrupted after the committee leaves it missing.
    Converge { committee_id: String, adopt: bool, steps: Vec<Step> },
}

/// A competing resource with the same code, as the claimant rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub namespace: String,
    pub name: String,
    pub holds_committee: bool,
    /// `metadata.creationTimestamp`, in seconds since the Unix epoch.
    pub created: i64,
}

impl Claim {
    fn key(&self) -> (bool, i64, &str, &str) {
        (!self.holds_committee, self.created, &self.namespace, &self.name)
    }
}

/// The competing claim that beats `me`, if any.
pub fn winning_rival<'a>(me: &Claim, others: &'a [Claim]) -> Option<&'a Claim> {
    others
        .iter()
        .filter(|o| !(o.namespace == me.namespace && o.name == me.name))
        .filter(|o| o.key() < me.key())
        .min_by(|a, b| a.key().cmp(&b.key()))
}

/// Checks what the API server's schema cannot express, or may not have enforced (an old CRD).
pub fn validate(spec: &CommitteeSpec) -> Result<(), String> {
    let six_digits = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    if !six_digits(&spec.code) {
        return Err(format!("code {:?} is not a six-digit GB/T 2260 division code", spec.code));
    }
    let name_len = spec.name.trim().chars().count();
    if !(2..=40).contains(&name_len) {
        return Err(format!("name must have 2-40 characters, has {name_len}"));
    }
    match (spec.level, spec.parent_code.as_deref()) {
        (CommitteeLevel::Province, Some(p)) => Err(format!("a Province committee has no parentCode (got {p})")),
        (CommitteeLevel::City | CommitteeLevel::County, None) => {
            Err(format!("parentCode is required for a {:?} committee", spec.level))
        }
        (_, Some(p)) if !six_digits(p) => Err(format!("parentCode {p:?} is not a six-digit division code")),
        _ => Ok(()),
    }
}

/// The decision. `rival` is the competing resource that wins the code (see [`winning_rival`]);
/// `observed` the committee the tenants service holds under `spec.code`.
pub fn decide(
    spec: &CommitteeSpec,
    status: Option<&CommitteeStatus>,
    rival: Option<&Claim>,
    observed: Option<&Observed>,
) -> Plan {
    if let Err(message) = validate(spec) {
        return Plan::Blocked { reason: Reason::InvalidSpec, message };
    }
    if let Some(r) = rival {
        return Plan::Blocked {
            reason: Reason::CodeConflict,
            message: format!("code {} is already claimed by Committee {}/{}", spec.code, r.namespace, r.name),
        };
    }
    let Some(c) = observed else { return Plan::Create };
    let owned_id = status.and_then(|s| s.committee_id.as_deref());
    let adopt = match owned_id {
        Some(id) if id == c.id => false,
        Some(id) => {
            return Plan::Blocked {
                reason: Reason::CodeConflict,
                message: format!(
                    "code {} belongs to committee {}, not to the committee {id} this resource owns",
                    c.code, c.id
                ),
            };
        }
        None => {
            let differences = differences(spec, c);
            if !differences.is_empty() {
                return Plan::Blocked {
                    reason: Reason::CodeConflict,
                    message: format!(
                        "a committee with code {} already exists and was not created by this resource ({})",
                        c.code,
                        differences.join("; ")
                    ),
                };
            }
            true
        }
    };
    if c.level != Some(spec.level) || c.parent_code != spec.parent_code {
        return Plan::Blocked {
            reason: Reason::ImmutableFieldChanged,
            message: format!("level and parentCode cannot change: {}", differences(spec, c).join("; ")),
        };
    }
    let mut steps = Vec::new();
    if c.name != spec.name {
        steps.push(Step::Rename { to: spec.name.clone() });
    }
    match (spec.suspended, c.suspended) {
        (true, false) => steps.push(Step::Suspend),
        (false, true) => steps.push(Step::Reactivate),
        _ => {}
    }
    Plan::Converge { committee_id: c.id.clone(), adopt, steps }
}

/// What differs between the spec and an existing committee, for messages.
fn differences(spec: &CommitteeSpec, c: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if c.name != spec.name {
        out.push(format!("name is {:?}, spec says {:?}", c.name, spec.name));
    }
    if c.level != Some(spec.level) {
        out.push(format!("level is {:?}, spec says {:?}", c.level, spec.level));
    }
    if c.parent_code != spec.parent_code {
        out.push(format!("parent is {:?}, spec says {:?}", c.parent_code, spec.parent_code));
    }
    out
}

/// The delete decision: suspend only a committee this resource owns and that is still active.
/// Returns the committee id to suspend.
pub fn on_delete<'a>(status: Option<&CommitteeStatus>, observed: Option<&'a Observed>) -> Option<&'a str> {
    let c = observed?;
    let owned = status.and_then(|s| s.committee_id.as_deref()) == Some(c.id.as_str());
    (owned && !c.suspended).then_some(c.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::AdminContact;

    /// 宁晋县 under 邢台市.
    fn ningjin() -> CommitteeSpec {
        CommitteeSpec {
            code: "130528".into(),
            name: "中国人民政治协商会议宁晋县委员会".into(),
            level: CommitteeLevel::County,
            parent_code: Some("130500".into()),
            admin: AdminContact {
                username: "ningjin-admin".into(),
                display_name: "张国强".into(),
                phone: None,
                email: None,
            },
            suspended: false,
        }
    }

    fn observed(spec: &CommitteeSpec) -> Observed {
        Observed {
            id: "c-1".into(),
            code: spec.code.clone(),
            name: spec.name.clone(),
            level: Some(spec.level),
            parent_code: spec.parent_code.clone(),
            suspended: false,
            etag: "1".into(),
        }
    }

    fn owning(id: &str) -> CommitteeStatus {
        CommitteeStatus { committee_id: Some(id.into()), ..Default::default() }
    }

    #[test]
    fn absent_committee_is_created() {
        assert_eq!(decide(&ningjin(), None, None, None), Plan::Create);
    }

    #[test]
    fn owned_and_unchanged_needs_no_step() {
        let spec = ningjin();
        let plan = decide(&spec, Some(&owning("c-1")), None, Some(&observed(&spec)));
        assert_eq!(plan, Plan::Converge { committee_id: "c-1".into(), adopt: false, steps: vec![] });
    }

    #[test]
    fn owned_renamed_and_suspended() {
        let spec = CommitteeSpec { name: "宁晋县政协".into(), suspended: true, ..ningjin() };
        let plan = decide(&spec, Some(&owning("c-1")), None, Some(&observed(&ningjin())));
        let steps = vec![Step::Rename { to: "宁晋县政协".into() }, Step::Suspend];
        assert_eq!(plan, Plan::Converge { committee_id: "c-1".into(), adopt: false, steps });
    }

    #[test]
    fn suspended_committee_is_reactivated() {
        let spec = ningjin();
        let c = Observed { suspended: true, ..observed(&spec) };
        let plan = decide(&spec, Some(&owning("c-1")), None, Some(&c));
        assert_eq!(plan, Plan::Converge { committee_id: "c-1".into(), adopt: false, steps: vec![Step::Reactivate] });
    }

    #[test]
    fn identical_committee_is_adopted() {
        let spec = ningjin();
        let plan = decide(&spec, None, None, Some(&observed(&spec)));
        assert_eq!(plan, Plan::Converge { committee_id: "c-1".into(), adopt: true, steps: vec![] });
    }

    #[test]
    fn foreign_committee_with_other_name_is_a_conflict() {
        let spec = ningjin();
        let c = Observed { name: "宁晋县政协".into(), ..observed(&spec) };
        let Plan::Blocked { reason, message } = decide(&spec, None, None, Some(&c)) else { panic!() };
        assert_eq!(reason, Reason::CodeConflict);
        assert!(message.contains("130528"), "{message}");
    }

    #[test]
    fn committee_with_other_id_is_a_conflict() {
        let spec = ningjin();
        let plan = decide(&spec, Some(&owning("c-0")), None, Some(&observed(&spec)));
        assert!(matches!(plan, Plan::Blocked { reason: Reason::CodeConflict, .. }));
    }

    #[test]
    fn owned_committee_with_other_parent_is_immutable() {
        let spec = ningjin();
        let c = Observed { parent_code: Some("130100".into()), ..observed(&spec) };
        let plan = decide(&spec, Some(&owning("c-1")), None, Some(&c));
        assert!(matches!(plan, Plan::Blocked { reason: Reason::ImmutableFieldChanged, .. }));
    }

    #[test]
    fn invalid_specs_are_blocked() {
        let bad = [
            CommitteeSpec { code: "13052".into(), ..ningjin() },
            CommitteeSpec { code: "013052".into(), ..ningjin() },
            CommitteeSpec { parent_code: None, ..ningjin() },
            CommitteeSpec { level: CommitteeLevel::Province, code: "130000".into(), ..ningjin() },
            CommitteeSpec { name: "宁".into(), ..ningjin() },
        ];
        for spec in bad {
            assert!(matches!(decide(&spec, None, None, None), Plan::Blocked { reason: Reason::InvalidSpec, .. }));
        }
        let hebei = CommitteeSpec {
            code: "130000".into(),
            name: "中国人民政治协商会议河北省委员会".into(),
            level: CommitteeLevel::Province,
            parent_code: None,
            ..ningjin()
        };
        assert_eq!(decide(&hebei, None, None, None), Plan::Create);
    }

    #[test]
    fn rival_claim_blocks_everything() {
        let spec = ningjin();
        let rival = Claim {
            namespace: "xingtai".into(),
            name: "ningjin".into(),
            holds_committee: true,
            created: 1_767_225_600,
        };
        let plan = decide(&spec, Some(&owning("c-1")), Some(&rival), Some(&observed(&spec)));
        assert!(matches!(plan, Plan::Blocked { reason: Reason::CodeConflict, .. }));
    }

    #[test]
    fn claimant_is_the_holder_then_the_oldest() {
        let claim = |ns: &str, holds: bool, created: i64| Claim {
            namespace: ns.into(),
            name: "ningjin".into(),
            holds_committee: holds,
            created,
        };
        let old = claim("a", false, 1_767_225_600);
        let young_holder = claim("b", true, 1_772_323_200);
        let young = claim("c", false, 1_772_323_200);
        let all = [old.clone(), young_holder.clone(), young.clone()];
        assert_eq!(winning_rival(&old, &all), Some(&young_holder));
        assert_eq!(winning_rival(&young_holder, &all), None);
        assert_eq!(winning_rival(&young, &all), Some(&young_holder));
        assert_eq!(winning_rival(&young, &[old.clone(), young.clone()]), Some(&old));
        assert_eq!(winning_rival(&old, &[old.clone(), young.clone()]), None);
    }

    #[test]
    fn delete_suspends_only_an_owned_active_committee() {
        let spec = ningjin();
        let c = observed(&spec);
        assert_eq!(on_delete(Some(&owning("c-1")), Some(&c)), Some("c-1"));
        assert_eq!(on_delete(None, Some(&c)), None);
        assert_eq!(on_delete(Some(&owning("c-1")), Some(&Observed { suspended: true, ..c.clone() })), None);
        assert_eq!(on_delete(Some(&owning("c-1")), None), None);
    }
}
