//! The gRPC surface of `QualityService` (quality evaluation and the sector
//! round-table rotation): authenticate → convert and validate → call the
//! store → convert back.

use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::authenticated;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::timestamp;
use xieshang_proto::consultation::v1 as pb;

use crate::domain::quality::{ActivityQuality, JointGroup, NewCriterion, QualityStandard, Score};
use crate::domain::{self, ConsultationType};
use crate::store::Store;

type Reply<T> = Result<Response<T>, Status>;

fn id(field: &str, s: &str) -> Result<Uuid, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn ids(field: &str, values: &[String]) -> Result<Vec<Uuid>, Status> {
    values.iter().map(|v| id(field, v)).collect()
}

fn consultation_type(field: &str, v: i32) -> Result<Option<ConsultationType>, Status> {
    if v == 0 {
        return Ok(None);
    }
    i16::try_from(v)
        .ok()
        .and_then(ConsultationType::from_i16)
        .map(Some)
        .ok_or_else(|| invalid_argument(field, format!("{v} is not a consultation type")))
}

fn standard_to_proto(s: QualityStandard) -> pb::QualityStandard {
    pb::QualityStandard {
        committee_id: s.committee_id.to_string(),
        year: s.year,
        criteria: s
            .criteria
            .into_iter()
            .map(|c| pb::QualityCriterion { id: c.id.to_string(), name: c.name, weight: c.weight })
            .collect(),
    }
}

fn score_to_proto(s: Score) -> pb::CriterionScore {
    pb::CriterionScore {
        criterion_id: s.criterion_id.to_string(),
        score: i32::from(s.score),
        evaluator_user_id: s.evaluator.to_string(),
        create_time: Some(timestamp(s.created_at)),
    }
}

fn quality_to_proto(q: ActivityQuality) -> pb::ActivityQuality {
    pb::ActivityQuality {
        activity_id: q.activity_id.to_string(),
        title: q.title,
        r#type: q.kind as i32,
        year: q.year,
        score: q.score.unwrap_or_default(),
        evaluator_count: q.evaluator_count.unwrap_or_default(),
        scores: q.scores.into_iter().map(score_to_proto).collect(),
    }
}

fn group_to_proto(g: JointGroup) -> pb::JointGroup {
    let (sector_ids, sector_names) = g.sectors.into_iter().map(|(id, name)| (id.to_string(), name)).unzip();
    pb::JointGroup { id: g.id.to_string(), name: g.name, sector_ids, sector_names, position: g.position }
}

pub struct QualityApi(pub Store);

#[tonic::async_trait]
impl pb::quality_service_server::QualityService for QualityApi {
    async fn set_quality_standard(&self, req: Request<pb::SetQualityStandardRequest>) -> Reply<pb::QualityStandard> {
        let ctx = authenticated(&req)?;
        let s = req.get_ref().standard.as_ref().ok_or_else(|| invalid_argument("standard", "is required"))?;
        let year = domain::year("standard.year", s.year)?;
        let criteria = s.criteria.iter().map(|c| NewCriterion { name: c.name.clone(), weight: c.weight }).collect();
        Ok(Response::new(standard_to_proto(self.0.set_quality_standard(ctx, year, criteria).await?)))
    }

    async fn get_quality_standard(&self, req: Request<pb::GetQualityStandardRequest>) -> Reply<pb::QualityStandard> {
        let ctx = authenticated(&req)?;
        let year = domain::year("year", req.get_ref().year)?;
        Ok(Response::new(standard_to_proto(self.0.get_quality_standard(ctx, year).await?)))
    }

    async fn assign_evaluators(&self, req: Request<pb::AssignEvaluatorsRequest>) -> Reply<pb::ActivityEvaluators> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let activity_id = id("activity_id", &r.activity_id)?;
        let users = ids("evaluator_user_ids", &r.evaluator_user_ids)?;
        let evaluators = self.0.assign_evaluators(ctx, activity_id, users).await?;
        Ok(Response::new(pb::ActivityEvaluators {
            activity_id: activity_id.to_string(),
            evaluators: evaluators
                .into_iter()
                .map(|e| pb::Evaluator { user_id: e.user_id.to_string(), display_name: e.display_name })
                .collect(),
        }))
    }

    async fn score_activity(&self, req: Request<pb::ScoreActivityRequest>) -> Reply<pb::ActivityQuality> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let activity_id = id("activity_id", &r.activity_id)?;
        let scores = r
            .scores
            .iter()
            .map(|s| Ok((id("scores.criterion_id", &s.criterion_id)?, s.score)))
            .collect::<Result<Vec<_>, Status>>()?;
        Ok(Response::new(quality_to_proto(self.0.score_activity(ctx, activity_id, scores).await?)))
    }

    async fn get_activity_quality(&self, req: Request<pb::GetActivityQualityRequest>) -> Reply<pb::ActivityQuality> {
        let ctx = authenticated(&req)?;
        let activity_id = id("activity_id", &req.get_ref().activity_id)?;
        Ok(Response::new(quality_to_proto(self.0.get_activity_quality(ctx, activity_id).await?)))
    }

    async fn rank_activities(&self, req: Request<pb::RankActivitiesRequest>) -> Reply<pb::ActivityRanking> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let year = domain::year("year", r.year)?;
        let kind = consultation_type("type", r.r#type)?;
        let ranked = self.0.rank_activities(ctx, year, kind).await?;
        Ok(Response::new(pb::ActivityRanking {
            year,
            activities: ranked
                .into_iter()
                .map(|a| pb::RankedActivity {
                    rank: a.rank,
                    activity_id: a.activity_id.to_string(),
                    title: a.title,
                    r#type: a.kind as i32,
                    score: a.score,
                    evaluator_count: a.evaluator_count,
                })
                .collect(),
        }))
    }

    async fn create_joint_group(&self, req: Request<pb::CreateJointGroupRequest>) -> Reply<pb::JointGroup> {
        let ctx = authenticated(&req)?;
        let g = req.get_ref().group.as_ref().ok_or_else(|| invalid_argument("group", "is required"))?;
        let name = domain::line("group.name", &g.name, 60)?;
        let sectors = ids("group.sector_ids", &g.sector_ids)?;
        Ok(Response::new(group_to_proto(self.0.create_joint_group(ctx, name, sectors).await?)))
    }

    async fn get_joint_group(&self, req: Request<pb::GetJointGroupRequest>) -> Reply<pb::JointGroup> {
        let ctx = authenticated(&req)?;
        let group_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(group_to_proto(self.0.get_joint_group(ctx, group_id).await?)))
    }

    async fn list_joint_groups(&self, req: Request<pb::ListJointGroupsRequest>) -> Reply<pb::ListJointGroupsResponse> {
        let ctx = authenticated(&req)?;
        let groups = self.0.list_joint_groups(ctx).await?;
        Ok(Response::new(pb::ListJointGroupsResponse { groups: groups.into_iter().map(group_to_proto).collect() }))
    }

    async fn get_round_table_rotation(
        &self,
        req: Request<pb::GetRoundTableRotationRequest>,
    ) -> Reply<pb::RoundTableRotation> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let year = domain::year("year", r.year)?;
        let rotation = self.0.round_table_rotation(ctx, year, r.count).await?;
        Ok(Response::new(pb::RoundTableRotation {
            year: rotation.year,
            after_activity_id: rotation.after.map(|(a, _)| a.to_string()).unwrap_or_default(),
            after_group_id: rotation.after.map(|(_, g)| g.to_string()).unwrap_or_default(),
            slots: rotation
                .slots
                .into_iter()
                .enumerate()
                .map(|(i, g)| pb::RotationSlot { round: i as i32 + 1, group: Some(group_to_proto(g)) })
                .collect(),
        }))
    }
}
