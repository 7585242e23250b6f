//! The one error type every port returns. Each variant is something a
//! person can act on, and its `Display` says what to do.

use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CloudError {
    /// No credentials anywhere in the chain.
    #[error(
        "No AWS credentials were found ({detail}). On the installer instance attach an IAM \
         role to it; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
         or run `aws sso login`."
    )]
    MissingCredentials { detail: String },

    /// Credentials were found but are expired or no longer valid.
    #[error(
        "The AWS credentials have expired or are no longer valid ({detail}). Refresh them \
         (`aws sso login`, new temporary keys, or wait for the instance role to rotate) \
         and run again; nothing was lost."
    )]
    ExpiredCredentials { detail: String },

    /// The caller is not allowed to perform `action` (e.g. `ec2:DescribeRegions`).
    #[error(
        "Access denied for {action}: {detail}. Grant {action} to the role or user the \
         installer runs as, then run again."
    )]
    AccessDenied { action: String, detail: String },

    /// The account may not use the region (an opt-in region not enabled) or
    /// the service (an account still being activated). `region` is named
    /// when the caller knows it.
    #[error("{}", region_not_enabled(region.as_deref(), detail))]
    RegionNotEnabled {
        region: Option<String>,
        detail: String,
    },

    /// AWS refused the request for its time: the local clock is off, or
    /// temporary credentials expired (EC2 says RequestExpired for both).
    #[error(
        "AWS refused the request for its timestamp ({detail}): this machine's clock is off, \
         or temporary credentials expired. `ph-installer doctor` measures the clock; sync \
         it (on Amazon Linux `sudo systemctl restart chronyd`, check with `chronyc \
         tracking`) or refresh the credentials, and run again; nothing was lost."
    )]
    ClockSkew { detail: String },

    /// AWS asked us to slow down. The SDK and the installer retry with
    /// backoff; this reaches a person only when AWS kept refusing.
    #[error(
        "AWS kept throttling {action} through every retry. Wait a minute and run again; \
         nothing was lost."
    )]
    Throttled {
        action: String,
        retry_after: Option<Duration>,
    },

    /// The thing asked for does not exist; `what` is a whole sentence
    /// saying so (AWS's own, or one from [`CloudError::not_found`]).
    #[error("{what}")]
    NotFound { what: String },

    /// AWS rejected the request's input or the resource's current state.
    #[error("{action} was rejected: {message}")]
    InvalidInput { action: String, message: String },

    /// The endpoint could not be reached or answered with a server error.
    #[error(
        "{service} could not be reached or failed ({detail}). Check the instance's network \
         path to AWS (NAT, VPC endpoints, proxy) and run again."
    )]
    Unavailable { service: String, detail: String },

    /// The account has no such region (a code that passes the commercial
    /// pattern but names no region AWS has, or none this account lists).
    #[error(
        "There is no region {region} in this account ({detail}). Check the code: `ph-installer \
         regions` lists the regions the account has."
    )]
    UnknownRegion { region: String, detail: String },

    /// This machine failed, not AWS: a local file could not be read or
    /// written. `detail` names the file and what to do.
    #[error("{detail}")]
    Local { detail: String },

    /// Anything else, with AWS's own code and message.
    #[error("{action} failed: {code}: {message}")]
    Other {
        action: String,
        code: String,
        message: String,
    },
}

fn region_not_enabled(region: Option<&str>, detail: &str) -> String {
    let (which, command) = match region {
        Some(r) => (
            format!("region {r}"),
            format!("`aws account enable-region --region-name {r}`"),
        ),
        None => (
            "the region".to_string(),
            "`aws account enable-region --region-name` with its code".to_string(),
        ),
    };
    format!(
        "This AWS account cannot use {which} or the service yet ({detail}). If {which} is an \
         opt-in region, enable it in the AWS console under Account > AWS Regions (or run \
         {command}) and wait until it shows Enabled; a newly created account can also take a \
         while to be activated. Then run again."
    )
}

impl CloudError {
    /// "`what` was not found."
    pub fn not_found(what: impl Into<String>) -> Self {
        CloudError::NotFound {
            what: format!("{} was not found.", what.into()),
        }
    }

    pub fn invalid(action: impl Into<String>, message: impl Into<String>) -> Self {
        CloudError::InvalidInput {
            action: action.into(),
            message: message.into(),
        }
    }

    /// CreateAccessKey refused for IAM's quota of two access keys per user
    /// (code LimitExceeded, IAM's message "Cannot exceed quota for
    /// AccessKeysPerUser: 2"; an inactive key counts too). `aws` is IAM's
    /// own message; both adapters report the refusal in these words.
    pub fn access_key_limit(user_name: &str, aws: &str) -> Self {
        let aws = aws.trim().trim_end_matches('.');
        CloudError::invalid(
            crate::cloud::actions::CREATE_ACCESS_KEY,
            format!(
                "LimitExceeded: {aws}. IAM allows 2 access keys per user (active or inactive) \
                 and {user_name} has 2 already. Delete the one no longer in use with `aws iam \
                 delete-access-key --user-name {user_name} --access-key-id <id>` (`aws iam \
                 list-access-keys --user-name {user_name}` lists them), then run again."
            ),
        )
    }

    /// Worth retrying after a pause.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CloudError::Throttled { .. } | CloudError::Unavailable { .. }
        )
    }

    /// The credentials, not the request, are the problem.
    pub fn is_credentials(&self) -> bool {
        matches!(
            self,
            CloudError::MissingCredentials { .. } | CloudError::ExpiredCredentials { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_names_the_action_and_the_fix() {
        let e = CloudError::AccessDenied {
            action: "cloudformation:CreateChangeSet".into(),
            detail: "User arn:aws:iam::1:user/x is not authorized".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("Grant cloudformation:CreateChangeSet"),
            "{msg}"
        );
    }

    #[test]
    fn throttling_that_outlasted_the_retries_says_to_wait_and_run_again() {
        let msg = CloudError::Throttled {
            action: "ec2:DescribeRegions".into(),
            retry_after: None,
        }
        .to_string();
        assert!(
            msg.contains("ec2:DescribeRegions") && msg.contains("Wait a minute and run again"),
            "{msg}"
        );
    }

    #[test]
    fn a_third_access_key_says_the_limit_and_how_to_free_a_slot() {
        let e = CloudError::access_key_limit(
            "ph-installer-ProvisioningUser-1A2B3C4D5E6F",
            "Cannot exceed quota for AccessKeysPerUser: 2",
        );
        assert!(matches!(e, CloudError::InvalidInput { .. }), "{e:?}");
        let msg = e.to_string();
        for part in [
            "iam:CreateAccessKey",
            "Cannot exceed quota for AccessKeysPerUser: 2. ",
            "2 access keys per user",
            "aws iam delete-access-key --user-name ph-installer-ProvisioningUser-1A2B3C4D5E6F",
        ] {
            assert!(msg.contains(part), "{part:?} is not in: {msg}");
        }
    }

    #[test]
    fn expired_credentials_say_nothing_was_lost() {
        let msg = CloudError::ExpiredCredentials {
            detail: "ExpiredToken".into(),
        }
        .to_string();
        assert!(msg.contains("expired") && msg.contains("nothing was lost"));
    }
}
