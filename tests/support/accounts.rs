//! The two accounts the port contract runs against: the sandbox (on a
//! manual clock) and the AWS adapters on moto (each test its own moto
//! account). A contract test is written once against [`TestAccount`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ph_installer::clock::ManualClock;
use ph_installer::cloud::Cloud;
use ph_installer::cloud::aws::EndpointAsGiven;
use ph_installer::cloud::sandbox::faults::FaultScript;
use ph_installer::cloud::sandbox::{SandboxAccount, SandboxOptions};
use ph_installer::cloud::types::{PublicAccessBlock, Tag};

use super::moto;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sandbox,
    Moto,
}

pub struct TestAccount {
    pub backend: Backend,
    sandbox: Option<(tempfile::TempDir, Arc<ManualClock>, SandboxAccount)>,
    moto_account: String,
}

impl TestAccount {
    pub fn open(backend: Backend) -> TestAccount {
        match backend {
            Backend::Sandbox => Self::sandbox_with(FaultScript::default()),
            Backend::Moto => TestAccount {
                backend,
                sandbox: None,
                moto_account: moto::fresh_account(),
            },
        }
    }

    /// A sandbox account that runs `faults`.
    pub fn sandbox_with(faults: FaultScript) -> TestAccount {
        {
            {
                let dir = tempfile::tempdir().unwrap();
                let clock = Arc::new(ManualClock::starting_now());
                let account = SandboxAccount::open_with_clock(
                    SandboxOptions {
                        dir: dir.path().to_path_buf(),
                        speed: 1.0,
                        faults,
                    },
                    clock.clone(),
                )
                .unwrap();
                TestAccount {
                    backend: Backend::Sandbox,
                    sandbox: Some((dir, clock, account)),
                    moto_account: String::new(),
                }
            }
        }
    }

    /// Every port bound to `region`.
    pub async fn cloud(&self, region: &str) -> Cloud {
        match &self.sandbox {
            Some((_, _, account)) => account.cloud(region.parse().unwrap()),
            None => {
                ph_installer::cloud::aws::connect(&moto::options(region, &self.moto_account))
                    .await
                    .expect("connect to moto")
                    .cloud
            }
        }
    }

    /// Lets `secs` of the account's time pass. moto does everything at
    /// once, so there this changes nothing.
    pub fn pass(&self, secs: u64) {
        if let Some((_, clock, _)) = &self.sandbox {
            clock.advance(Duration::from_secs(secs));
        }
    }

    /// A public hosted zone named `name`, made outside the ports (as an
    /// operator would in the console); its bare id.
    pub async fn public_zone(&self, name: &str) -> String {
        match &self.sandbox {
            Some((_, _, account)) => account
                .arrange(|state, now| state.add_zone(name, false, now))
                .unwrap(),
            None => {
                let account = self.moto_account.clone();
                let out = aws_sdk_route53::Client::new(&moto::sdk("us-east-1").await)
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(format!("{name}-{account}"))
                    .customize()
                    .mutate_request(move |r| {
                        r.headers_mut()
                            .insert(moto::ACCOUNT_HEADER, account.clone());
                    })
                    .send()
                    .await
                    .unwrap();
                let id = out.hosted_zone().unwrap().id();
                id.trim_start_matches("/hostedzone/").to_string()
            }
        }
    }

    /// A running t3.micro in us-east-1 with these tags, launched outside
    /// the ports; its id.
    pub async fn instance(&self, tags: &[Tag]) -> String {
        match &self.sandbox {
            Some((_, _, account)) => account
                .arrange(|state, _| {
                    state.add_instance(&"us-east-1".parse().unwrap(), "t3.micro", tags.to_vec())
                })
                .unwrap(),
            None => {
                let account = self.moto_account.clone();
                let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Instance);
                for t in tags {
                    spec = spec.tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key(&t.key)
                            .value(&t.value)
                            .build(),
                    );
                }
                let out = aws_sdk_ec2::Client::new(&moto::sdk("us-east-1").await)
                    .run_instances()
                    .image_id("ami-12c6146b")
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .min_count(1)
                    .max_count(1)
                    .tag_specifications(spec.build())
                    .customize()
                    .mutate_request(move |r| {
                        r.headers_mut()
                            .insert(moto::ACCOUNT_HEADER, account.clone());
                    })
                    .send()
                    .await
                    .unwrap();
                out.instances()[0].instance_id().unwrap().to_string()
            }
        }
    }

    /// Sets the account's S3 Block Public Access, outside the ports (as an
    /// administrator would).
    pub async fn block_public_access(&self, block: PublicAccessBlock) {
        match &self.sandbox {
            Some((_, _, account)) => account
                .arrange(|state, _| state.set_public_access_block(Some(block)))
                .unwrap(),
            None => {
                let account = self.moto_account.clone();
                let conf = aws_sdk_s3control::config::Builder::from(&moto::sdk("us-east-1").await)
                    .endpoint_resolver(EndpointAsGiven(moto::moto().url.clone()))
                    .build();
                aws_sdk_s3control::Client::from_conf(conf)
                    .put_public_access_block()
                    .account_id(&account)
                    .public_access_block_configuration(
                        aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                            .block_public_acls(block.block_public_acls)
                            .ignore_public_acls(block.ignore_public_acls)
                            .block_public_policy(block.block_public_policy)
                            .restrict_public_buckets(block.restrict_public_buckets)
                            .build(),
                    )
                    .customize()
                    .mutate_request(move |r| {
                        r.headers_mut()
                            .insert(moto::ACCOUNT_HEADER, account.clone());
                    })
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// The name of an IAM user like installer.yaml's provisioning user, with
    /// no access key: the sandbox's seeded one; on moto, which starts with
    /// no users, one made outside the ports.
    pub async fn provisioning_user(&self) -> String {
        match &self.sandbox {
            Some(_) => ph_installer::cloud::sandbox::state::provisioning_user_name(),
            None => {
                let name = "ph-installer-ProvisioningUser-1A2B3C4D5E6F";
                moto::create_user(&self.moto_account, name).await;
                name.to_string()
            }
        }
    }

    /// Asks `probe` until it answers `Some`, letting a second of the
    /// account's time pass between tries (an hour at most).
    pub async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        for _ in 0..3600 {
            if let Some(v) = probe().await {
                return v;
            }
            self.pass(1);
            if self.backend == Backend::Moto {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        panic!("{what}: not reached within an hour of the account's time");
    }
}
