//! Per-committee proposal settings: deadlines, with defaults until changed.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;

use super::{Store, own_committee, record, require_office};
use crate::domain::Settings;
use crate::entity::settings;
use crate::error::{ProposalsError, Result};

/// Fields of [`Store::update_settings`]; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SettingsPatch {
    pub objection_window_days: Option<i32>,
    pub co_unit_opinion_months: Option<i32>,
    pub reply_window_months: Option<i32>,
    pub information_body_max: Option<i32>,
    pub due_soon_days: Option<i32>,
}

/// The committee's settings, or the defaults.
pub(super) async fn settings_of(tx: &Tx, committee: CommitteeId) -> Result<Settings> {
    Ok(settings::Entity::find_by_id(committee.0)
        .one(&**tx)
        .await?
        .map(|s| Settings {
            objection_window_days: s.objection_window_days,
            co_unit_opinion_months: s.co_unit_opinion_months,
            reply_window_months: s.reply_window_months,
            information_body_max: s.information_body_max,
            due_soon_days: s.due_soon_days,
            version: s.version,
        })
        .unwrap_or_default())
}

fn in_range(field: &'static str, v: i32, max: i32) -> Result<i32> {
    if (1..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ProposalsError::invalid(field, format!("must be between 1 and {max}")))
    }
}

impl Store {
    pub async fn get_settings(&self, ctx: &TenantContext) -> Result<(CommitteeId, Settings)> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let found = settings_of(&tx, committee).await?;
        tx.commit().await?;
        Ok((committee, found))
    }

    pub async fn update_settings(
        &self,
        ctx: &TenantContext,
        patch: SettingsPatch,
        etag: &str,
    ) -> Result<(CommitteeId, Settings)> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut current = settings_of(&tx, committee).await?;
        if !etag.is_empty() && etag != crate::domain::etag(current.version) {
            return Err(ProposalsError::EtagMismatch);
        }
        if let Some(v) = patch.objection_window_days {
            current.objection_window_days = in_range("settings.objection_window_days", v, 60)?;
        }
        if let Some(v) = patch.co_unit_opinion_months {
            current.co_unit_opinion_months = in_range("settings.co_unit_opinion_months", v, 12)?;
        }
        if let Some(v) = patch.reply_window_months {
            current.reply_window_months = in_range("settings.reply_window_months", v, 12)?;
        }
        if let Some(v) = patch.information_body_max {
            if !(100..=crate::domain::INFORMATION_BODY_LIMIT).contains(&v) {
                return Err(ProposalsError::invalid(
                    "settings.information_body_max_chars",
                    format!("must be between 100 and {}", crate::domain::INFORMATION_BODY_LIMIT),
                ));
            }
            current.information_body_max = v;
        }
        if let Some(v) = patch.due_soon_days {
            current.due_soon_days = in_range("settings.due_soon_days", v, crate::domain::DUE_SOON_DAYS_MAX)?;
        }
        let old = current.version;
        current.version = old + 1;
        let model = settings::ActiveModel {
            committee_id: Set(committee.0),
            objection_window_days: Set(current.objection_window_days),
            co_unit_opinion_months: Set(current.co_unit_opinion_months),
            reply_window_months: Set(current.reply_window_months),
            information_body_max: Set(current.information_body_max),
            due_soon_days: Set(current.due_soon_days),
            version: Set(current.version),
            updated_at: Set(xieshang_platform::time::now()),
        };
        if old == 0 {
            settings::Entity::insert(model).exec_without_returning(&*tx).await?;
        } else {
            let done = settings::Entity::update_many()
                .set(model)
                .filter(settings::Column::CommitteeId.eq(committee.0))
                .filter(settings::Column::Version.eq(old))
                .exec(&*tx)
                .await?;
            if done.rows_affected == 0 {
                return Err(ProposalsError::EtagMismatch);
            }
        }
        record(
            &tx,
            ctx,
            committee,
            "proposal_settings",
            committee,
            json!({"objection_window_days": current.objection_window_days,
                "co_unit_opinion_months": current.co_unit_opinion_months,
                "reply_window_months": current.reply_window_months,
                "information_body_max": current.information_body_max,
                "due_soon_days": current.due_soon_days}),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok((committee, current))
    }
}
