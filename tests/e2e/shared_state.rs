//! State shared by replicas through Redis (`xieshang_platform::redis_state`)
//! against the local Redis: rate limits that hold across replicas and fall
//! back per replica when Redis is gone; revocations announced across
//! processes, with a reload from the database on every (re)subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use xieshang_platform::auth::Revocations;
use xieshang_platform::directory::{CommitteeCache, CommitteeEntry};
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::limits::RateLimiter;
use xieshang_platform::redis_state::{RedisCommitteeCache, RedisLimiter, RedisState, Reload, spawn_revocation_sync};
use xieshang_tests::cluster::{RedisProxy, redis_url};
use xieshang_tests::eventually;

fn prefix() -> String {
    format!("xieshang-test-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_public_rate_limit_holds_across_replicas() {
    let prefix = prefix();
    let window = Duration::from_secs(600);
    let one = RedisLimiter::new(RedisState::connect(&redis_url(), &prefix).await.unwrap(), "public-topics", 3, window);
    let two = RedisLimiter::new(RedisState::connect(&redis_url(), &prefix).await.unwrap(), "public-topics", 3, window);
    let client = "public-topic|203.0.113.7|130528";
    assert!(one.try_acquire(client).await);
    assert!(two.try_acquire(client).await);
    assert!(one.try_acquire(client).await);
    // The fourth attempt is refused whichever replica it reaches.
    assert!(!two.try_acquire(client).await);
    assert!(!one.try_acquire(client).await);
    // Another client, and another endpoint, have their own allowance.
    assert!(two.try_acquire("public-topic|198.51.100.4|130528").await);
    let studios =
        RedisLimiter::new(RedisState::connect(&redis_url(), &prefix).await.unwrap(), "studio-requests", 3, window);
    assert!(studios.try_acquire(client).await);
}

#[tokio::test]
async fn without_redis_the_limit_falls_back_to_the_replica_and_health_says_so() {
    let proxy = RedisProxy::start().await;
    let state = RedisState::connect(&proxy.url(), &prefix()).await.unwrap();
    let limiter = RedisLimiter::new(state.clone(), "public-topics", 2, Duration::from_secs(600));
    assert!(limiter.try_acquire("client-a").await);
    assert!(state.health());
    proxy.cut();
    // The request still gets an answer: one shared attempt is already used,
    // but the replica's own window starts empty.
    assert!(limiter.try_acquire("client-a").await);
    assert!(!state.health(), "the failed Redis call is reported");
    assert!(limiter.try_acquire("client-a").await);
    assert!(!limiter.try_acquire("client-a").await, "the replica's own limit still applies");
    proxy.restore().await;
    eventually("Redis to serve the limiter again", async || limiter.try_acquire("client-b").await && state.health())
        .await;
}

#[tokio::test]
async fn a_revocation_in_one_process_reaches_the_others_and_each_resubscription_reloads() {
    let prefix = prefix();
    let (_stop, shutdown) = watch::channel(false);
    let reloads = Arc::new(AtomicUsize::new(0));
    let counting = |reloads: Arc<AtomicUsize>| -> Reload {
        Arc::new(move || {
            let reloads = reloads.clone();
            Box::pin(async move { Ok(reloads.fetch_add(1, Ordering::SeqCst)) })
        })
    };
    let tenants = Revocations::default();
    let proposals = Revocations::default();
    let proxy = RedisProxy::start().await;
    let state_a = RedisState::connect(&redis_url(), &prefix).await.unwrap();
    let state_b = RedisState::connect(&proxy.url(), &prefix).await.unwrap();
    let _a = spawn_revocation_sync(state_a, tenants.clone(), counting(Arc::new(AtomicUsize::new(0))), shutdown.clone());
    let _b = spawn_revocation_sync(state_b, proposals.clone(), counting(reloads.clone()), shutdown.clone());
    eventually("the proposals process to subscribe and reload", async || reloads.load(Ordering::SeqCst) >= 1).await;

    let session = uuid::Uuid::now_v7();
    // Announcements only reach subscribers: retry until the subscription is live.
    eventually("the revocation to reach the other process", async || {
        tenants.revoke(session, chrono::Utc::now() + chrono::Duration::minutes(15));
        tokio::time::sleep(Duration::from_millis(50)).await;
        proposals.is_revoked(&session)
    })
    .await;

    // A lost subscription is re-established, and the set is reloaded from the
    // database then, because announcements made meanwhile were missed.
    let before = reloads.load(Ordering::SeqCst);
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.restore().await;
    eventually("a reload after resubscribing", async || reloads.load(Ordering::SeqCst) > before).await;
}

#[tokio::test]
async fn the_committee_cache_is_shared_invalidated_and_a_miss_without_redis() {
    let prefix = prefix();
    let ttl = Duration::from_secs(600);
    let one = RedisCommitteeCache::new(RedisState::connect(&redis_url(), &prefix).await.unwrap(), ttl);
    let proxy = RedisProxy::start().await;
    let two = RedisCommitteeCache::new(RedisState::connect(&proxy.url(), &prefix).await.unwrap(), ttl);
    let (hebei, xingtai, id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let ningjin = CommitteeEntry {
        id,
        code: "130528".into(),
        name: "宁晋县政协".into(),
        path: format!("/{hebei}/{xingtai}/{id}/"),
        suspended: false,
    };
    one.put(&ningjin).await;
    // Another replica reads what one cached, ancestors and all.
    let seen = two.get(CommitteeId(id)).await.expect("cached entry");
    assert_eq!(seen, ningjin);
    assert_eq!(seen.ancestors(), vec![CommitteeId(xingtai), CommitteeId(hebei)]);
    // A change anywhere drops it everywhere.
    one.invalidate(CommitteeId(id)).await;
    assert_eq!(two.get(CommitteeId(id)).await, None);
    // Without Redis a read is a miss (the caller reads the database), not an error.
    one.put(&ningjin).await;
    proxy.cut();
    assert_eq!(two.get(CommitteeId(id)).await, None);
}
