//! The gRPC surface: the only module that touches generated protobuf types.
//! Every handler reads the same: authenticate → convert and validate →
//! call the store → convert back; errors map through `AnalyticsError`.

use tonic::{Request, Response, Status};
use xieshang_platform::auth::authenticated;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::status::invalid_argument;
use xieshang_proto::analytics::v1 as pb;

use crate::domain::{self, Period, Rollup};
use crate::store::Store;

type Reply<T> = Result<Response<T>, Status>;

fn committee(field: &str, s: &str) -> Result<CommitteeId, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    uuid::Uuid::parse_str(s).map(CommitteeId).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn rollup(field: &str, v: i32) -> Result<Rollup, Status> {
    match pb::Rollup::try_from(v) {
        Ok(pb::Rollup::Unspecified | pb::Rollup::Subtree) => Ok(Rollup::Subtree),
        Ok(pb::Rollup::Own) => Ok(Rollup::Own),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a rollup"))),
    }
}

fn rollup_to_proto(r: Rollup) -> pb::Rollup {
    match r {
        Rollup::Own => pb::Rollup::Own,
        Rollup::Subtree => pb::Rollup::Subtree,
    }
}

fn figures_to_proto(f: domain::Figures) -> pb::Figures {
    pb::Figures {
        committee_id: f.committee_id.to_string(),
        period: f.period.to_string(),
        rollup: rollup_to_proto(f.rollup) as i32,
        counts: f.counts.all().into_iter().map(|(m, v)| (m.to_owned(), v)).collect(),
        rates: f
            .counts
            .rates()
            .into_iter()
            .map(|r| pb::Rate {
                name: r.name.to_owned(),
                value: r.value,
                numerator: r.numerator,
                denominator: r.denominator,
                undefined: r.undefined,
            })
            .collect(),
    }
}

pub(crate) struct AnalyticsApi(pub Store);

#[tonic::async_trait]
impl pb::analytics_service_server::AnalyticsService for AnalyticsApi {
    async fn get_figures(&self, req: Request<pb::GetFiguresRequest>) -> Reply<pb::Figures> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let period = Period::parse("period", &r.period)?;
        let rollup = rollup("rollup", r.rollup)?;
        if r.committee_id.is_empty() && ctx.is_operator() {
            if rollup != Rollup::Subtree {
                return Err(invalid_argument("rollup", "the national figures are SUBTREE figures"));
            }
            let mut figures = figures_to_proto(self.0.national_figures(ctx, period).await?);
            figures.committee_id.clear();
            return Ok(Response::new(figures));
        }
        let id = committee("committee_id", &r.committee_id)?;
        let figures = self.0.figures(ctx, id, period, rollup).await?;
        Ok(Response::new(figures_to_proto(figures)))
    }

    async fn get_breakdown(&self, req: Request<pb::GetBreakdownRequest>) -> Reply<pb::Breakdown> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let period = Period::parse("period", &r.period)?;
        if r.metric.is_empty() {
            return Err(invalid_argument("metric", "is required"));
        }
        let (id, rows) = if r.committee_id.is_empty() && ctx.is_operator() {
            (String::new(), self.0.national_breakdown(ctx, period, &r.metric).await?)
        } else {
            let id = committee("committee_id", &r.committee_id)?;
            (id.to_string(), self.0.breakdown(ctx, id, period, &r.metric).await?)
        };
        Ok(Response::new(pb::Breakdown {
            committee_id: id,
            period: period.to_string(),
            previous_period: period.previous().to_string(),
            metric: r.metric.clone(),
            rows: rows
                .into_iter()
                .map(|row| pb::BreakdownRow {
                    rank: row.rank,
                    committee_id: row.committee_id.to_string(),
                    code: row.code,
                    name: row.name,
                    value: row.value,
                    previous_value: row.previous_value,
                    change: row.value - row.previous_value,
                    undefined: row.undefined,
                    figures: Some(figures_to_proto(row.figures)),
                })
                .collect(),
        }))
    }

    async fn get_time_series(&self, req: Request<pb::GetTimeSeriesRequest>) -> Reply<pb::TimeSeries> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = committee("committee_id", &r.committee_id)?;
        if r.metric.is_empty() {
            return Err(invalid_argument("metric", "is required"));
        }
        let rollup = rollup("rollup", r.rollup)?;
        let (year, period, points) = match (r.period.is_empty(), r.year) {
            (true, year) => (year, year.to_string(), self.0.time_series(ctx, id, &r.metric, year, rollup).await?),
            (false, _) => match Period::parse("period", &r.period)? {
                Period::Year(year) => {
                    if r.year != 0 && r.year != year {
                        return Err(invalid_argument("year", format!("differs from the period {year}")));
                    }
                    (year, r.period.clone(), self.0.time_series(ctx, id, &r.metric, year, rollup).await?)
                }
                term @ Period::Term(n) => {
                    (0, term.to_string(), self.0.term_series(ctx, id, &r.metric, n, rollup).await?)
                }
                _ => return Err(invalid_argument("period", "a time series is over a year (2025) or a term (T10)")),
            },
        };
        Ok(Response::new(pb::TimeSeries {
            committee_id: id.to_string(),
            metric: r.metric.clone(),
            year,
            rollup: rollup_to_proto(rollup) as i32,
            points: points
                .into_iter()
                .map(|(p, value, undefined)| pb::Point { period: p.to_string(), value, undefined })
                .collect(),
            period,
        }))
    }

    async fn rank_members(&self, req: Request<pb::RankMembersRequest>) -> Reply<pb::RankMembersResponse> {
        let ctx = authenticated(&req)?;
        let pb::RankMembersRequest { committee_id, period, metric, page_size, page_token } = req.get_ref();
        let committee_id = if committee_id.is_empty() { None } else { Some(committee("committee_id", committee_id)?) };
        let period = Period::parse("period", period)?;
        if metric.is_empty() {
            return Err(invalid_argument("metric", "is required"));
        }
        let ranking = self.0.rank_members(ctx, committee_id, period, metric, *page_size, page_token).await?;
        Ok(Response::new(pb::RankMembersResponse {
            committee_id: ranking.committee_id.to_string(),
            period: period.to_string(),
            metric: metric.clone(),
            members: ranking
                .places
                .into_iter()
                .map(|p| pb::MemberPlace {
                    rank: p.rank,
                    member_id: p.member_id.to_string(),
                    name: p.name,
                    value: p.value,
                })
                .collect(),
            next_page_token: ranking.next_page_token,
            total_size: i32::try_from(ranking.total).unwrap_or(i32::MAX),
        }))
    }
}
