//! The `run` command: probes, leader election, and the controller while this replica leads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client};
use tokio::sync::watch;

use crate::crd::Committee;
use crate::leader::{LeaderElector, LeaseConfig};
use crate::reconcile::{self, Context};
use crate::tenants::{Tenants, TenantsConfig};

/// Settings of `run`, from the environment (see the README).
#[derive(Clone, Debug)]
pub struct Settings {
    pub tenants: TenantsConfig,
    pub pod_name: String,
    pub pod_namespace: String,
    /// `None`: every namespace.
    pub watch_namespace: Option<String>,
    pub probe_addr: SocketAddr,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| anyhow::anyhow!("{name} must be set"));
        let probe_addr = var("XIESHANG_OPERATOR_PROBE_ADDR").unwrap_or_else(|| "0.0.0.0:8080".into());
        Ok(Self {
            tenants: TenantsConfig {
                url: var("XIESHANG_TENANTS_URL").unwrap_or_else(|| "http://127.0.0.1:50051".into()),
                username: required("XIESHANG_OPERATOR_USERNAME")?,
                password: required("XIESHANG_OPERATOR_PASSWORD")?,
                timeout: Duration::from_secs(10),
            },
            pod_name: required("POD_NAME")?,
            pod_namespace: required("POD_NAMESPACE")?,
            watch_namespace: var("XIESHANG_OPERATOR_WATCH_NAMESPACE"),
            probe_addr: probe_addr
                .parse()
                .map_err(|e| anyhow::anyhow!("XIESHANG_OPERATOR_PROBE_ADDR={probe_addr}: {e}"))?,
        })
    }
}

/// Runs until SIGTERM/ctrl-c.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let (ready_tx, ready_rx) = watch::channel(false);
    let listener = crate::probe::bind(settings.probe_addr).await?;
    tracing::info!(addr = %settings.probe_addr, "serving /healthz and /readyz");
    let probes = tokio::spawn(crate::probe::serve(listener, ready_rx));

    let client = Client::try_default().await?;
    let (leader_tx, mut leader_rx) = watch::channel(false);
    let elector =
        Arc::new(LeaderElector::new(client.clone(), LeaseConfig::new(&settings.pod_namespace, &settings.pod_name)));
    let election = {
        let elector = elector.clone();
        tokio::spawn(async move { elector.run(leader_tx, ready_tx).await })
    };

    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        ctrl_c.await?;
        anyhow::Ok(())
    };
    tokio::pin!(shutdown);

    loop {
        // Standby until this replica holds the Lease.
        tokio::select! {
            r = &mut shutdown => { r?; break; }
            changed = leader_rx.wait_for(|leads| *leads) => { changed?; }
        }
        tracing::info!(identity = %settings.pod_name, "leading: starting the controller");
        let tenants = Tenants::new(settings.tenants.clone())?;
        let controller = controller(client.clone(), tenants, &settings);
        tokio::select! {
            r = &mut shutdown => { r?; break; }
            _ = controller => { tracing::warn!("the controller stopped"); }
            lost = leader_rx.wait_for(|leads| !*leads) => {
                lost?;
                tracing::warn!("lost the Lease: stopping the controller, back to standby");
            }
        }
    }
    election.abort();
    if let Err(e) = elector.release().await {
        tracing::warn!(error = %e, "could not release the Lease");
    }
    probes.abort();
    Ok(())
}

async fn controller(client: Client, tenants: Tenants, settings: &Settings) {
    let api: Api<Committee> = match &settings.watch_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let controller = Controller::new(api, watcher::Config::default().any_semantic());
    let ctx = Arc::new(Context::new(client, tenants, &settings.pod_name, Some(controller.store())));
    controller
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => tracing::debug!(committee = %obj.name, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile error"),
            }
        })
        .await;
}
