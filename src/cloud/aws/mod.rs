//! Adapters over the official AWS SDK: the only module where SDK types
//! appear. `connect` settles the region and credentials the way the AWS CLI
//! does, and returns a [`Cloud`] whose ports speak domain types.

mod account;
pub use account::EndpointAsGiven;
mod certificates;
mod dns;
pub(crate) mod error;
mod iam;
mod instances;
mod offerings;
mod regions;
mod stacks;

use crate::cloud::actions;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::meta::region::ProvideRegion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::cloud::types::{CallerIdentity, SessionInfo};
use crate::cloud::{Cloud, CloudError, CloudResult, Identity};
use crate::core::region::{
    RegionCandidate, RegionCode, RegionResolutionError, RegionSource, ResolvedRegion,
    resolve_region,
};
use crate::core::secret::Secret;

/// How to reach AWS. Everything defaults to the AWS CLI's behaviour.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`: wins over every other source.
    pub region: Option<String>,
    /// `--profile`: the shared-config profile (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// `--endpoint-url`: send every call there (an emulator). `AWS_ENDPOINT_URL`
    /// is honoured by the SDK itself when this is unset.
    pub endpoint_url: Option<String>,
    /// Fixed access keys instead of the default chain (tests against an
    /// emulator); the secret key prints redacted.
    pub static_credentials: Option<(String, Secret)>,
    /// Extra HTTP headers on every request (an emulator's account selector).
    pub extra_headers: Vec<(String, String)>,
    /// Skip the instance-metadata region lookup (it costs a timeout off EC2).
    pub skip_instance_metadata: bool,
    /// Attempts per call including the first (`None`: `AWS_MAX_ATTEMPTS`,
    /// else 5). An emulator's HTTP 500 for an operation it lacks should fail
    /// at once.
    pub max_attempts: Option<u32>,
}

/// A cloud on AWS and how it was reached.
pub struct AwsConnection {
    pub cloud: Cloud,
    pub region: ResolvedRegion,
    pub session: SessionInfo,
    sdk: SdkConfig,
    headers: Vec<(String, String)>,
}

impl AwsConnection {
    /// Every port in `region`, on the same credentials (and their cache).
    pub fn cloud_in(&self, region: &RegionCode) -> Cloud {
        let sdk = self
            .sdk
            .to_builder()
            .region(Region::new(region.as_str().to_string()))
            .build();
        let ports = Arc::new(AwsPorts::new(
            &sdk,
            region.clone(),
            self.session.clone(),
            &self.headers,
        ));
        Cloud::from_ports(region.clone(), ports)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Region(#[from] RegionResolutionError),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(90);
const MAX_ATTEMPTS: u32 = 5;

/// Settles region and credentials, then builds the ports.
pub async fn connect(opts: &AwsOptions) -> Result<AwsConnection, ConnectError> {
    let region = resolve(opts).await?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.code.as_str().to_string()))
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts(opts)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((key, secret)) = &opts.static_credentials {
        loader = loader.credentials_provider(Credentials::new(
            key.clone(),
            secret.expose().to_string(),
            None,
            None,
            "static",
        ));
    }
    let sdk = loader.load().await;
    let credential_source = credential_source(&sdk, opts).await;
    let endpoint_override = opts
        .endpoint_url
        .clone()
        .or_else(|| env_value("AWS_ENDPOINT_URL"));
    let session = SessionInfo {
        credential_source,
        endpoint_override,
    };
    let ports = Arc::new(AwsPorts::new(
        &sdk,
        region.code.clone(),
        session.clone(),
        &opts.extra_headers,
    ));
    let cloud = Cloud::from_ports(region.code.clone(), ports);
    Ok(AwsConnection {
        cloud,
        region,
        session,
        sdk,
        headers: opts.extra_headers.clone(),
    })
}

/// The flag's, else `AWS_MAX_ATTEMPTS` (as the AWS CLI honours it), else 5.
fn max_attempts(opts: &AwsOptions) -> u32 {
    opts.max_attempts
        .or_else(|| env_value("AWS_MAX_ATTEMPTS").and_then(|v| v.trim().parse().ok()))
        .filter(|n| *n >= 1)
        .unwrap_or(MAX_ATTEMPTS)
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Region precedence: the flag, then the environment or the profile, then
/// this instance's metadata. A refused first choice is reported, never skipped.
async fn resolve(opts: &AwsOptions) -> Result<ResolvedRegion, RegionResolutionError> {
    let mut candidates = Vec::new();
    if let Some(r) = &opts.region {
        candidates.push(RegionCandidate {
            value: r.clone(),
            source: RegionSource::Flag,
        });
    }
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(v) = env_value(var) {
            candidates.push(RegionCandidate {
                value: v,
                source: RegionSource::Environment(var.into()),
            });
            break;
        }
    }
    if candidates.is_empty() {
        let profile = opts
            .profile
            .clone()
            .or_else(|| env_value("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into());
        let provider = aws_config::profile::ProfileFileRegionProvider::builder()
            .profile_name(&profile)
            .build();
        if let Some(r) = provider.region().await {
            candidates.push(RegionCandidate {
                value: r.to_string(),
                source: RegionSource::Profile(profile),
            });
        }
    }
    let imds_disabled = opts.skip_instance_metadata
        || env_value("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if candidates.is_empty() && !imds_disabled {
        let client = aws_config::imds::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(1))
            .max_attempts(1)
            .build();
        let provider = aws_config::imds::region::ImdsRegionProvider::builder()
            .imds_client(client)
            .build();
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(3), provider.region()).await {
            candidates.push(RegionCandidate {
                value: r.to_string(),
                source: RegionSource::InstanceMetadata,
            });
        }
    }
    resolve_region(candidates)
}

/// Says where the default chain found credentials, by asking it once.
async fn credential_source(sdk: &SdkConfig, opts: &AwsOptions) -> String {
    if opts.static_credentials.is_some() {
        return "static keys given to the installer".into();
    }
    let Some(provider) = sdk.credentials_provider() else {
        return "none (no credential provider configured)".into();
    };
    let found = tokio::time::timeout(Duration::from_secs(10), provider.provide_credentials()).await;
    match found {
        Ok(Ok(creds)) => {
            let features = creds
                .get_property::<Vec<AwsCredentialFeature>>()
                .cloned()
                .unwrap_or_default();
            describe_source(&features, opts)
        }
        Ok(Err(e)) => {
            let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
            if error::chain_found_nothing(&text) {
                format!("none found ({})", error::CHAIN_FOUND_NOTHING)
            } else {
                format!("none found ({})", text.lines().next().unwrap_or_default())
            }
        }
        Err(_) => "none found (the credential chain did not answer within 10 s)".into(),
    }
}

fn describe_source(features: &[AwsCredentialFeature], opts: &AwsOptions) -> String {
    let profile = opts
        .profile
        .clone()
        .or_else(|| env_value("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    use AwsCredentialFeature as F;
    let has = |f: &F| features.contains(f);
    if has(&F::CredentialsImds) {
        "EC2 instance role (IMDSv2)".into()
    } else if has(&F::CredentialsEnvVars) {
        "environment variables (AWS_ACCESS_KEY_ID)".into()
    } else if has(&F::CredentialsEnvVarsStsWebIdToken) || has(&F::CredentialsStsAssumeRoleWebId) {
        "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into()
    } else if has(&F::CredentialsSso) || has(&F::CredentialsProfileSso) {
        format!("AWS SSO through profile '{profile}'")
    } else if has(&F::CredentialsProfileProcess) || has(&F::CredentialsProcess) {
        format!("credential_process of profile '{profile}'")
    } else if has(&F::CredentialsStsAssumeRole) {
        format!("a role assumed through profile '{profile}'")
    } else if has(&F::CredentialsProfile) || has(&F::CredentialsProfileSourceProfile) {
        format!("profile '{profile}' (shared credentials/config files)")
    } else if has(&F::CredentialsHttp) {
        "container credentials endpoint (ECS/EKS)".into()
    } else {
        "the AWS SDK default credential chain".into()
    }
}

/// Adds headers to every request and remembers the last `Date` AWS sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wire {
    headers: Arc<Vec<(String, String)>>,
    last_date: Arc<Mutex<Option<String>>>,
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "ph-installer-wire"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        for (k, v) in self.headers.iter() {
            context
                .request_mut()
                .headers_mut()
                .insert(k.clone(), v.clone());
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            *self.last_date.lock().expect("date slot") = Some(date.to_string());
        }
        Ok(())
    }
}

/// Every port over the SDK clients of one region.
pub(crate) struct AwsPorts {
    sdk: SdkConfig,
    wire: Wire,
    region: RegionCode,
    session: SessionInfo,
    ec2: aws_sdk_ec2::Client,
    sts: aws_sdk_sts::Client,
    acm: aws_sdk_acm::Client,
    route53: aws_sdk_route53::Client,
    cfn: aws_sdk_cloudformation::Client,
    ssm: aws_sdk_ssm::Client,
    iam: aws_sdk_iam::Client,
    s3control: aws_sdk_s3control::Client,
    rds: aws_sdk_rds::Client,
    opensearch: aws_sdk_opensearch::Client,
    elasticache: aws_sdk_elasticache::Client,
    eks: aws_sdk_eks::Client,
}

impl AwsPorts {
    fn new(
        sdk: &SdkConfig,
        region: RegionCode,
        session: SessionInfo,
        headers: &[(String, String)],
    ) -> AwsPorts {
        let wire = Wire {
            headers: Arc::new(headers.to_vec()),
            last_date: Arc::default(),
        };
        // Every client: the shared SDK config, with the wire interceptor.
        macro_rules! client {
            ($sdk_crate:ident) => {
                $sdk_crate::Client::from_conf(
                    $sdk_crate::config::Builder::from(sdk)
                        .interceptor(wire.clone())
                        .build(),
                )
            };
        }
        AwsPorts {
            ec2: ec2_client(sdk, &wire, None),
            sts: client!(aws_sdk_sts),
            acm: client!(aws_sdk_acm),
            route53: client!(aws_sdk_route53),
            cfn: client!(aws_sdk_cloudformation),
            ssm: client!(aws_sdk_ssm),
            iam: client!(aws_sdk_iam),
            rds: client!(aws_sdk_rds),
            opensearch: client!(aws_sdk_opensearch),
            elasticache: client!(aws_sdk_elasticache),
            eks: client!(aws_sdk_eks),
            s3control: {
                let mut conf =
                    aws_sdk_s3control::config::Builder::from(sdk).interceptor(wire.clone());
                if let Some(url) = &session.endpoint_override {
                    conf = conf.endpoint_resolver(account::EndpointAsGiven(url.clone()));
                }
                aws_sdk_s3control::Client::from_conf(conf.build())
            },
            sdk: sdk.clone(),
            wire,
            region,
            session,
        }
    }

    /// An EC2 client for another region (availability zones, offerings).
    fn ec2_in(&self, region: &RegionCode) -> aws_sdk_ec2::Client {
        if *region == self.region {
            self.ec2.clone()
        } else {
            ec2_client(&self.sdk, &self.wire, Some(region))
        }
    }
}

fn ec2_client(sdk: &SdkConfig, wire: &Wire, region: Option<&RegionCode>) -> aws_sdk_ec2::Client {
    let mut b = aws_sdk_ec2::config::Builder::from(sdk).interceptor(wire.clone());
    if let Some(r) = region {
        b = b.region(Region::new(r.as_str().to_string()));
    }
    aws_sdk_ec2::Client::from_conf(b.build())
}

/// SDK timestamps to `SystemTime` (out-of-range values are dropped).
pub(crate) fn to_system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

#[async_trait]
impl Identity for AwsPorts {
    async fn caller_identity(&self) -> CloudResult<CallerIdentity> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| error::map_sdk_error(actions::GET_CALLER_IDENTITY, "STS", e))?;
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        })
    }

    fn session_info(&self) -> SessionInfo {
        self.session.clone()
    }

    async fn server_time(&self) -> CloudResult<SystemTime> {
        *self.wire.last_date.lock().expect("date slot") = None;
        // A refused call still carries AWS's Date: exactly the case (a clock
        // too far off to sign) where the skew matters most.
        let call = self.caller_identity().await;
        let date = self.wire.last_date.lock().expect("date slot").clone();
        let Some(date) = date else {
            call?;
            return Err(CloudError::Other {
                action: actions::GET_CALLER_IDENTITY.into(),
                code: "NoDateHeader".into(),
                message: "the response carried no Date header, so the clock cannot be compared"
                    .into(),
            });
        };
        aws_smithy_types::DateTime::from_str(&date, aws_smithy_types::date_time::Format::HttpDate)
            .ok()
            .and_then(|d| SystemTime::try_from(d).ok())
            .ok_or_else(|| CloudError::Other {
                action: actions::GET_CALLER_IDENTITY.into(),
                code: "BadDateHeader".into(),
                message: format!("the response's Date header {date:?} is not an HTTP date"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_options_never_shows_the_secret_key() {
        let opts = AwsOptions {
            static_credentials: Some(("AKIDEXAMPLE".into(), Secret::new("wJalrXUtnFEMI-secret"))),
            ..AwsOptions::default()
        };
        let shown = format!("{opts:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
    }

    #[test]
    fn the_credential_source_names_where_the_chain_found_them() {
        let opts = AwsOptions {
            profile: Some("dev".into()),
            ..AwsOptions::default()
        };
        let cases = [
            (
                vec![AwsCredentialFeature::CredentialsImds],
                "EC2 instance role (IMDSv2)",
            ),
            (
                vec![AwsCredentialFeature::CredentialsEnvVars],
                "environment variables (AWS_ACCESS_KEY_ID)",
            ),
            (
                vec![AwsCredentialFeature::CredentialsProfile],
                "profile 'dev' (shared credentials/config files)",
            ),
            (
                vec![
                    AwsCredentialFeature::CredentialsProfileSso,
                    AwsCredentialFeature::CredentialsSso,
                ],
                "AWS SSO through profile 'dev'",
            ),
        ];
        for (features, want) in cases {
            assert_eq!(describe_source(&features, &opts), want);
        }
    }
}
