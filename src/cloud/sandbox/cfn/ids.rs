//! Deterministic fake identifiers and digests for the sandbox's CloudFormation.
//!
//! Everything here is a pure function of its input, so an engine reloaded
//! from disk produces the same ids as the one that saved it.

/// FNV-1a, 64 bit: stable across Rust versions (unlike `DefaultHasher`).
pub fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// `n` lowercase hex digits derived from `parts`.
pub fn hex(parts: &[&str], n: usize) -> String {
    let mut out = String::new();
    let mut i = 0u64;
    while out.len() < n {
        let salt = i.to_string();
        let mut all: Vec<&str> = parts.to_vec();
        all.push(&salt);
        out.push_str(&format!("{:016x}", fnv64(&all)));
        i += 1;
    }
    out.truncate(n);
    out
}

/// A uuid-shaped (8-4-4-4-12) deterministic id.
pub fn uuid_like(parts: &[&str]) -> String {
    let h = hex(parts, 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `n` upper-case alphanumerics, like the suffixes CloudFormation appends
/// to generated names (`mystack-Role-1A2B3C4D5E6F`).
pub fn suffix(parts: &[&str], n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::new();
    let mut i = 0u64;
    while out.len() < n {
        let salt = i.to_string();
        let mut all: Vec<&str> = parts.to_vec();
        all.push(&salt);
        let mut h = fnv64(&all);
        for _ in 0..8 {
            out.push(ALPHABET[(h % ALPHABET.len() as u64) as usize] as char);
            h /= ALPHABET.len() as u64;
        }
        i += 1;
    }
    out.truncate(n);
    out
}

/// SHA-256, hex encoded. Used to remember NoEcho parameter values by
/// digest only.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fake physical id for a resource, shaped like the real one for its type.
/// `generation` changes when the resource is replaced.
pub fn physical_id(
    rtype: &str,
    logical: &str,
    stack_name: &str,
    stack_id: &str,
    generation: u32,
    region: &str,
    account: &str,
) -> String {
    let g = generation.to_string();
    let seed = [stack_id, logical, g.as_str()];
    let h17 = hex(&seed, 17);
    let sfx = suffix(&seed, 12);
    let name = format!("{stack_name}-{logical}-{sfx}");
    let short = |prefix: &str| format!("{prefix}-{h17}");
    match rtype {
        "AWS::EC2::VPC" => short("vpc"),
        "AWS::EC2::Subnet" => short("subnet"),
        "AWS::EC2::SecurityGroup" => short("sg"),
        "AWS::EC2::InternetGateway" => short("igw"),
        "AWS::EC2::NatGateway" => short("nat"),
        "AWS::EC2::RouteTable" => short("rtb"),
        "AWS::EC2::NetworkAcl" => short("acl"),
        "AWS::EC2::Instance" => short("i"),
        "AWS::EC2::LaunchTemplate" => short("lt"),
        "AWS::EC2::VPCEndpoint" => short("vpce"),
        "AWS::EC2::EIP" => format!(
            "52.{}.{}.{}",
            fnv64(&seed) % 250 + 1,
            fnv64(&seed) / 256 % 250 + 1,
            fnv64(&seed) / 65536 % 250 + 1
        ),
        "AWS::EC2::SubnetRouteTableAssociation" => short("rtbassoc"),
        "AWS::EC2::VPCGatewayAttachment" | "AWS::EC2::Route" => {
            format!("{}-{}", stack_name, &h17[..8])
        }
        "AWS::IAM::Role" | "AWS::IAM::InstanceProfile" | "AWS::Logs::LogGroup" => name,
        "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{account}:policy/{name}"),
        "AWS::KMS::Key" => uuid_like(&seed),
        "AWS::SecretsManager::Secret" => format!(
            "arn:aws:secretsmanager:{region}:{account}:secret:{logical}-{}",
            &sfx[..6]
        ),
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => format!(
            "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{}/{}",
            lb_name(stack_name, logical),
            &h17[..16]
        ),
        "AWS::ElasticLoadBalancingV2::TargetGroup" => format!(
            "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{}/{}",
            lb_name(stack_name, logical),
            &h17[..16]
        ),
        "AWS::ElasticLoadBalancingV2::Listener" => format!(
            "arn:aws:elasticloadbalancing:{region}:{account}:listener/app/{}/{}/{}",
            lb_name(stack_name, logical),
            &h17[..16],
            &hex(&[stack_id, logical, "listener"], 16)
        ),
        "AWS::EKS::Cluster" | "AWS::OpenSearchService::Domain" => {
            format!("{}-{}", logical.to_lowercase(), &h17[..8])
        }
        "AWS::RDS::DBInstance" | "AWS::ElastiCache::ReplicationGroup" | "AWS::S3::Bucket" => {
            name.to_lowercase()
        }
        "AWS::MSK::Cluster" => format!(
            "arn:aws:kafka:{region}:{account}:cluster/{}/{}",
            logical.to_lowercase(),
            uuid_like(&seed)
        ),
        "AWS::EKS::Nodegroup" => format!("{}/{}", logical.to_lowercase(), &sfx),
        _ => name,
    }
}

/// Load balancer names are at most 32 characters.
pub fn lb_name(stack_name: &str, logical: &str) -> String {
    let mut n = format!("{}-{}", stack_name, logical);
    n.truncate(32);
    n.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noecho_digests_are_sha256_in_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fake_ids_are_shaped_like_aws_ids_and_stable() {
        let a = physical_id("AWS::EC2::VPC", "Vpc", "s", "id", 0, "us-east-1", "1");
        assert!(a.starts_with("vpc-") && a.len() == 21, "{a}");
        assert_eq!(
            a,
            physical_id("AWS::EC2::VPC", "Vpc", "s", "id", 0, "us-east-1", "1")
        );
        assert_ne!(
            a,
            physical_id("AWS::EC2::VPC", "Vpc", "s", "id", 1, "us-east-1", "1")
        );
        let u = uuid_like(&["x"]);
        assert_eq!(u.len(), 36);
        assert_eq!(u.matches('-').count(), 4);
    }
}
