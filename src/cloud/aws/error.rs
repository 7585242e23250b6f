//! AWS errors to `CloudError`, in one place. The classification is a pure
//! function of (error code, message, HTTP status) so it is tested without the SDK.

use std::error::Error;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::CloudError;

/// Maps any SDK error of `action` (e.g. `ec2:DescribeRegions`) on `service`.
pub(crate) fn map_sdk_error<E>(
    action: &str,
    service: &str,
    err: SdkError<E, HttpResponse>,
) -> CloudError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let e = se.err();
            classify(
                action,
                service,
                e.code(),
                e.message().unwrap_or_default(),
                Some(status),
            )
        }
        SdkError::TimeoutError(_) => CloudError::Unavailable {
            service: service.into(),
            detail: format!("{action} timed out"),
        },
        _ => {
            let text = DisplayErrorContext(&err).to_string();
            classify_transport(action, service, &text)
        }
    }
}

/// Errors that never reached AWS: no credentials, no connection.
pub(crate) fn classify_transport(action: &str, service: &str, text: &str) -> CloudError {
    let lower = text.to_ascii_lowercase();
    if chain_found_nothing(text) {
        return CloudError::MissingCredentials {
            detail: format!("{action}: {CHAIN_FOUND_NOTHING}"),
        };
    }
    if lower.contains("credentialsnotloaded")
        || lower.contains("failed to load credentials")
        || lower.contains("no credentials")
    {
        return CloudError::MissingCredentials {
            detail: format!("{action}: {}", first_line(text)),
        };
    }
    if lower.contains("expired") && lower.contains("token") {
        return CloudError::ExpiredCredentials {
            detail: format!("{action}: {}", first_line(text)),
        };
    }
    CloudError::Unavailable {
        service: service.into(),
        detail: format!("{action}: {}", first_line(text)),
    }
}

/// What the default chain tried, for when it found nothing (the SDK's own
/// text ends in an empty "Attempted:" list).
pub(crate) const CHAIN_FOUND_NOTHING: &str = "nothing in the environment, the shared config \
     and credentials files, SSO, web identity, the container endpoint or the instance role";

/// The SDK's default chain ran and no provider had credentials.
pub(crate) fn chain_found_nothing(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("no providers in chain provided credentials")
        || lower.contains("no credentials found in chain")
}

/// The SDK's error text without the Debug dump of the error it appends
/// (`... (DispatchFailure(DispatchFailure { source: ... }))`), first line
/// only, at most 400 bytes.
fn first_line(text: &str) -> &str {
    let mut t = text.lines().next().unwrap_or(text);
    for variant in [
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
        " (ServiceError(",
    ] {
        if let Some(i) = t.find(variant) {
            t = &t[..i];
        }
    }
    if t.len() > 400 {
        &t[..t.floor_char_boundary(400)]
    } else {
        t
    }
}

/// The table: AWS error code (and for CloudFormation, message) to the
/// variant a person can act on.
pub(crate) fn classify(
    action: &str,
    service: &str,
    code: Option<&str>,
    message: &str,
    status: Option<u16>,
) -> CloudError {
    let code_str = code.unwrap_or("");
    let detail = if message.is_empty() {
        code_str.to_string()
    } else {
        format!("{code_str}: {message}")
    };
    if is_clock_skew(code_str, message) {
        return CloudError::ClockSkew { detail };
    }
    match code_str {
        // EC2 uses AuthFailure also for regions the account has not enabled.
        "AuthFailure" if message.contains("not enabled") => CloudError::RegionNotEnabled {
            region: None,
            detail,
        },
        "OptInRequired" => CloudError::RegionNotEnabled {
            region: None,
            detail,
        },
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "AuthFailure"
        | "SignatureDoesNotMatch"
        | "InvalidToken"
        | "TokenRefreshRequired" => CloudError::ExpiredCredentials { detail },
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnauthorizedAccess"
        | "Forbidden" => CloudError::AccessDenied {
            action: action.into(),
            detail,
        },
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "PriorRequestNotComplete"
        | "SlowDown"
        | "RequestThrottled"
        | "RequestThrottledException" => CloudError::Throttled {
            action: action.into(),
            retry_after: None,
        },
        "ValidationError" if is_missing_stack(message) => not_found(code_str, message),
        "ChangeSetNotFound"
        | "ChangeSetNotFoundException"
        | "StackNotFoundException"
        | "NoSuchHostedZone"
        | "NoSuchChange"
        | "ResourceNotFoundException"
        | "NotFoundException"
        | "NoSuchEntity" => not_found(code_str, message),
        c if c.contains("NotFound") => not_found(code_str, message),
        "ValidationError"
        | "ValidationException"
        | "InvalidChangeBatch"
        | "InvalidInput"
        | "InvalidArgument"
        | "InvalidDomainValidationOptionsException"
        | "InvalidParameterException"
        | "InvalidParameterCombination"
        | "InvalidParameter"
        | "InsufficientCapabilitiesException"
        | "AlreadyExistsException"
        | "TokenAlreadyExistsException"
        | "InvalidChangeSetStatus"
        | "InvalidChangeSetStatusException"
        | "LimitExceededException"
        | "LimitExceeded"
        | "InvalidStateException"
        | "MissingParameter" => CloudError::InvalidInput {
            action: action.into(),
            message: detail,
        },
        c if c.starts_with("InvalidParameter") || c.starts_with("Invalid") => {
            CloudError::InvalidInput {
                action: action.into(),
                message: detail,
            }
        }
        "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "InternalError"
        | "InternalFailure"
        | "InternalServiceError"
        | "Unavailable" => CloudError::Unavailable {
            service: service.into(),
            detail,
        },
        _ if status.is_some_and(|s| s >= 500) => CloudError::Unavailable {
            service: service.into(),
            detail: format!("HTTP {}: {detail}", status.unwrap_or_default()),
        },
        _ if status == Some(403) => CloudError::AccessDenied {
            action: action.into(),
            detail,
        },
        _ => CloudError::Other {
            action: action.into(),
            code: if code_str.is_empty() {
                format!("HTTP {}", status.unwrap_or_default())
            } else {
                code_str.to_string()
            },
            message: message.to_string(),
        },
    }
}

/// AWS's own sentence for what is missing ("Stack [x] does not exist."),
/// or the code when it sent none.
fn not_found(code: &str, message: &str) -> CloudError {
    let m = message.trim();
    let what = match (m.is_empty(), m.ends_with('.')) {
        (true, _) => format!("{code}: the resource asked for was not found."),
        (false, true) => m.to_string(),
        (false, false) => format!("{m}."),
    };
    CloudError::NotFound { what }
}

/// A signature refused for its time: EC2's RequestExpired, S3's
/// RequestTimeTooSkewed, and the "Signature expired" of the query APIs
/// (STS, CloudFormation), which otherwise say SignatureDoesNotMatch.
fn is_clock_skew(code: &str, message: &str) -> bool {
    matches!(code, "RequestExpired" | "RequestTimeTooSkewed")
        || message.contains("Signature expired")
        || message.contains("Signature not yet current")
}

/// CloudFormation says "Stack with id X does not exist" (and ChangeSet
/// variants) as a ValidationError.
fn is_missing_stack(message: &str) -> bool {
    message.contains("does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str, message: &str, status: u16) -> CloudError {
        classify("svc:Action", "Svc", Some(code), message, Some(status))
    }

    #[test]
    fn each_aws_error_code_becomes_the_variant_a_person_can_act_on() {
        let table: &[(&str, &str, u16, &str)] = &[
            (
                "ExpiredToken",
                "The security token included in the request is expired",
                400,
                "expired",
            ),
            ("ExpiredTokenException", "", 400, "expired"),
            (
                "RequestExpired",
                "Request has expired. Timestamp date is 2026-11-24T08:00:00Z",
                400,
                "clock",
            ),
            (
                "SignatureDoesNotMatch",
                "Signature expired: 20261124T080000Z is now earlier than 20261124T081000Z",
                403,
                "clock",
            ),
            (
                "InvalidSignatureException",
                "Signature not yet current",
                400,
                "clock",
            ),
            ("RequestTimeTooSkewed", "", 403, "clock"),
            ("InvalidClientTokenId", "", 403, "expired"),
            ("UnrecognizedClientException", "", 400, "expired"),
            (
                "AuthFailure",
                "AWS was not able to validate the provided access credentials",
                401,
                "expired",
            ),
            ("SignatureDoesNotMatch", "", 403, "expired"),
            ("AccessDenied", "User is not authorized", 403, "denied"),
            ("AccessDeniedException", "", 400, "denied"),
            (
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
                403,
                "denied",
            ),
            (
                "AuthFailure",
                "This region is not enabled for your account",
                401,
                "region",
            ),
            (
                "OptInRequired",
                "You are not authorized to use the requested service. Ensure that you have \
                 subscribed to the service you are trying to use.",
                401,
                "region",
            ),
            ("Throttling", "Rate exceeded", 400, "throttled"),
            ("ThrottlingException", "", 400, "throttled"),
            ("RequestLimitExceeded", "", 503, "throttled"),
            ("TooManyRequestsException", "", 429, "throttled"),
            ("PriorRequestNotComplete", "", 400, "throttled"),
            (
                "ValidationError",
                "Stack with id shop does not exist",
                400,
                "not found",
            ),
            (
                "ChangeSetNotFound",
                "ChangeSet x does not exist",
                404,
                "not found",
            ),
            (
                "NoSuchHostedZone",
                "No hosted zone found with ID: Z1",
                404,
                "not found",
            ),
            ("ResourceNotFoundException", "", 400, "not found"),
            ("InvalidInstanceID.NotFound", "", 400, "not found"),
            (
                "ValidationError",
                "Parameters: [X] must have values",
                400,
                "invalid",
            ),
            (
                "InvalidChangeBatch",
                "Tried to create resource record set but it already exists",
                400,
                "invalid",
            ),
            ("InvalidParameterValue", "", 400, "invalid"),
            (
                "InsufficientCapabilitiesException",
                "Requires capabilities : [CAPABILITY_NAMED_IAM]",
                400,
                "invalid",
            ),
            ("ServiceUnavailable", "", 503, "unavailable"),
            ("InternalFailure", "", 500, "unavailable"),
            ("SomethingNew", "", 502, "unavailable"),
            ("SomethingNew", "odd", 400, "other"),
            (
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set.",
                412,
                "other",
            ),
        ];
        for (code, message, status, want) in table {
            let got = c(code, message, *status);
            let kind = match &got {
                CloudError::ExpiredCredentials { .. } => "expired",
                CloudError::MissingCredentials { .. } => "missing",
                CloudError::AccessDenied { .. } => "denied",
                CloudError::RegionNotEnabled { .. } => "region",
                CloudError::ClockSkew { .. } => "clock",
                CloudError::Throttled { .. } => "throttled",
                CloudError::NotFound { .. } => "not found",
                CloudError::InvalidInput { .. } => "invalid",
                CloudError::Unavailable { .. } => "unavailable",
                CloudError::Other { .. } => "other",
                CloudError::UnknownRegion { .. } | CloudError::Local { .. } => "local",
            };
            assert_eq!(kind, *want, "{code} ({message}) became {got:?}");
        }
    }

    #[test]
    fn a_missing_thing_reads_as_aws_says_it_once() {
        let e = c("ChangeSetNotFound", "ChangeSet [x] does not exist", 404);
        assert_eq!(e.to_string(), "ChangeSet [x] does not exist.");
        let e = c("ValidationError", "Stack with id shop does not exist", 400);
        assert_eq!(e.to_string(), "Stack with id shop does not exist.");
        let e = c("NoSuchHostedZone", "", 404);
        assert!(e.to_string().starts_with("NoSuchHostedZone"), "{e}");
    }

    #[test]
    fn access_denied_names_the_iam_action_that_was_refused() {
        let e = classify(
            "cloudformation:CreateChangeSet",
            "CloudFormation",
            Some("AccessDenied"),
            "User: arn:aws:sts::1:assumed-role/x is not authorized",
            Some(403),
        );
        assert!(
            e.to_string()
                .contains("Grant cloudformation:CreateChangeSet"),
            "{e}"
        );
    }

    #[test]
    fn a_request_that_never_found_credentials_says_how_to_provide_them() {
        let e = classify_transport(
            "sts:GetCallerIdentity",
            "STS",
            "failed to construct request: an identity resolver failed: the credential provider \
             was not enabled: no providers in chain provided credentials",
        );
        assert!(matches!(e, CloudError::MissingCredentials { .. }), "{e:?}");
        assert!(e.to_string().contains("AWS_PROFILE"), "{e}");
    }

    #[test]
    fn the_sdk_debug_dump_is_cut_from_what_a_person_reads() {
        let e = classify_transport(
            "sts:GetCallerIdentity",
            "STS",
            "dispatch failure: io error: client error (Connect): tcp connect error: Connection \
             refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError \
             { kind: Io } }))",
        );
        let msg = e.to_string();
        assert!(msg.contains("Connection refused (os error 111))"), "{msg}");
        assert!(
            !msg.contains("DispatchFailure(") && !msg.contains("ConnectorError"),
            "{msg}"
        );
    }

    #[test]
    fn a_connection_failure_is_an_unavailable_service_with_the_network_hint() {
        let e = classify_transport(
            "ec2:DescribeRegions",
            "EC2",
            "dispatch failure: io error: Connection refused",
        );
        assert!(matches!(e, CloudError::Unavailable { .. }), "{e:?}");
        assert!(e.to_string().contains("NAT"), "{e}");
    }
}
