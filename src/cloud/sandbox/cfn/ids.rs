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

/// SHA-256 (FIPS 180-4), hex encoded. Used to remember NoEcho parameter
/// values by digest only.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
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
    fn sha256_matches_the_published_test_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
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
