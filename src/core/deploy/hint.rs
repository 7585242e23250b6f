//! What to do about a failure's root cause, for the causes an install meets
//! most: a service quota, an action the role may not take, a name already
//! taken, an instance type the zone does not offer, a replacement that a
//! fixed name forbids. Read from the reason CloudFormation relays; a reason
//! none of these match gets no hint rather than a guess.

use super::EventView;

/// The kind of cause, and the sentence that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub cause: Cause,
    pub advice: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Quota,
    Denied,
    NameTaken,
    TypeNotInZone,
    FixedNameReplacement,
}

/// The text after `start` up to the first of `ends` (or the end).
fn between<'a>(text: &'a str, start: &str, ends: &[&str]) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    let to = ends
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    Some(rest[..to].trim())
}

pub fn hint(e: &EventView) -> Option<Hint> {
    let reason = e.reason.as_deref()?;
    let lower = reason.to_ascii_lowercase();
    let on = |cause: Cause, advice: String| Some(Hint { cause, advice });
    // EC2: "Your requested instance type (t3.large) is not supported in your
    // requested Availability Zone (us-east-1e). Please retry ... choosing ..."
    if lower.contains("instance type")
        && lower.contains("not supported in your requested availability zone")
    {
        let itype = between(reason, "instance type (", &[")"]).unwrap_or("the type");
        let zone = between(reason, "Availability Zone (", &[")"]).unwrap_or("that zone");
        return on(
            Cause::TypeNotInZone,
            format!(
                "{zone} does not offer {itype}. Change the type on the Sizing screen (e), or \
                 run doctor, which checks the types against the zones the install uses."
            ),
        );
    }
    // "User: arn:... is not authorized to perform: rds:CreateDBInstance on
    // resource: arn:... because no identity-based policy allows ..."
    if lower.contains("is not authorized to perform") || lower.contains("accessdenied") {
        let action = between(
            reason,
            "perform: ",
            &[" on resource", " because", " (", "."],
        );
        return on(
            Cause::Denied,
            match action {
                Some(a) => format!(
                    "The installer's role may not call {a}. installer.yaml's policies must allow \
                     it (with its resource): update the installer stack, then retry."
                ),
                None => "The installer's role was refused an action: the reason names it; \
                         installer.yaml's policies must allow it."
                    .into(),
            },
        );
    }
    // "CloudFormation cannot update a stack when a custom-named resource
    // requires replacing. Rename ph-shop-media and update the stack again."
    if lower.contains("custom-named resource requires replacing") {
        let name = between(reason, "Rename ", &[" and update"]).unwrap_or(&e.logical_id);
        return on(
            Cause::FixedNameReplacement,
            format!(
                "The change replaces {name}, whose name is fixed, so the new one cannot be \
                 made beside the old. Undo the change that forces the replacement (review it \
                 in the change set), or remove {name} first if its data may go."
            ),
        );
    }
    // "Resource of type 'AWS::S3::Bucket' with identifier 'x' already exists."
    // or "ph-shop-media already exists in stack arn:..."
    if lower.contains("already exists") {
        let name = between(reason, "with identifier '", &["'"])
            .or_else(|| reason.split_whitespace().next())
            .unwrap_or(&e.logical_id);
        return on(
            Cause::NameTaken,
            format!(
                "{name} already exists outside this install's stacks. Delete it if it is a \
                 leftover of an earlier install, or use another install name."
            ),
        );
    }
    // "The maximum number of VPCs has been reached. (... Error Code:
    // VpcLimitExceeded ...)", "LimitExceededException", "quota".
    if lower.contains("limitexceeded")
        || lower.contains("limit exceeded")
        || lower.contains("maximum number of")
        || lower.contains("quota")
    {
        let what = between(reason, "maximum number of ", &[" has been", " is", "."])
            .map(|w| format!("the number of {w}"))
            .or_else(|| between(reason, "Error Code: ", &[";", ")"]).map(str::to_string))
            .unwrap_or_else(|| format!("a quota of {}", e.resource_type));
        return on(
            Cause::Quota,
            format!(
                "A service quota is reached: {what}. Ask for more in Service Quotas (console, \
                 or aws service-quotas request-service-quota-increase), or remove what is \
                 unused, then retry."
            ),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::core::stack::ResourceStatus;

    fn failed(rtype: &str, reason: &str) -> EventView {
        EventView {
            logical_id: "Thing".into(),
            resource_type: rtype.into(),
            status: ResourceStatus::new("CREATE_FAILED"),
            reason: Some(reason.into()),
            timestamp: SystemTime::UNIX_EPOCH,
            stack_event: false,
            token: None,
        }
    }

    #[test]
    fn the_common_causes_get_advice_that_names_what_failed() {
        let cases: &[(&str, &str, Cause, &[&str])] = &[
            (
                "AWS::EC2::VPC",
                "The maximum number of VPCs has been reached. (Service: AmazonEC2; Status \
                 Code: 400; Error Code: VpcLimitExceeded; Request ID: 1)",
                Cause::Quota,
                &["the number of VPCs", "Service Quotas"],
            ),
            (
                "AWS::RDS::DBInstance",
                "User: arn:aws:sts::111122223333:assumed-role/ph-installer/i-0 is not \
                 authorized to perform: rds:CreateDBInstance on resource: \
                 arn:aws:rds:eu-west-1:111122223333:db:ph-shop because no identity-based \
                 policy allows the rds:CreateDBInstance action",
                Cause::Denied,
                &["rds:CreateDBInstance", "installer.yaml"],
            ),
            (
                "AWS::S3::Bucket",
                "Resource of type 'AWS::S3::Bucket' with identifier 'ph-shop-media' already \
                 exists.",
                Cause::NameTaken,
                &["ph-shop-media", "another install name"],
            ),
            (
                "AWS::EC2::Instance",
                "Your requested instance type (t3.large) is not supported in your requested \
                 Availability Zone (us-east-1e). Please retry your request by not specifying \
                 an Availability Zone or choosing us-east-1a, us-east-1b.",
                Cause::TypeNotInZone,
                &["us-east-1e does not offer t3.large", "Sizing"],
            ),
            (
                "AWS::RDS::DBInstance",
                "CloudFormation cannot update a stack when a custom-named resource requires \
                 replacing. Rename ph-shop-db and update the stack again.",
                Cause::FixedNameReplacement,
                &["replaces ph-shop-db", "change set"],
            ),
        ];
        for (rtype, reason, cause, says) in cases {
            let h = hint(&failed(rtype, reason)).unwrap_or_else(|| panic!("no hint: {reason}"));
            assert_eq!(h.cause, *cause, "{reason}");
            for s in *says {
                assert!(h.advice.contains(s), "{cause:?}: {} lacks {s}", h.advice);
            }
        }
    }

    #[test]
    fn a_reason_none_of_the_causes_match_gets_no_guess() {
        assert_eq!(
            hint(&failed("AWS::EKS::Cluster", "Internal failure.")),
            None
        );
        let mut no_reason = failed("AWS::EKS::Cluster", "");
        no_reason.reason = None;
        assert_eq!(hint(&no_reason), None);
    }
}
