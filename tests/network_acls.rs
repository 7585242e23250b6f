//! The network ACLs of stacks/network.yaml, judged by what they do to traffic.
//!
//! The template is read as CloudFormation would create it from its parameter
//! defaults (AzCount and NatGatewayPerAz are also tried at "3"/"true"): the
//! VPC and subnet CIDRs, which ACL each subnet is associated with, and where
//! each subnet's default route leads (the internet gateway, or a NAT gateway
//! in some public subnet). The ACL entries are then evaluated the way AWS
//! documents it: per direction, in RuleNumber order, the first entry that
//! matches decides, and a packet no entry matches is denied (the `*` rule).
//! An entry matches on protocol (-1 is every protocol; 6 TCP and 17 UDP with
//! a port range on the destination port), and on the source address for
//! inbound entries, the destination address for outbound ones. Entries are
//! evaluated when a packet leaves a subnet and when it enters one, never
//! within a subnet.
//!
//! What is not modelled: IPv6 (the template has none), ICMP, security groups
//! (except where a test says so), and traffic that network ACLs do not
//! filter at all (DNS to the VPC resolver at VPC+2, the instance metadata
//! service, the Amazon Time Sync Service at 169.254.169.123).
//!
//! A reply through a NAT gateway keeps the remote server as its source: the
//! NAT gateway translates back only the destination. Pods' connections leave
//! the node through the VPC CNI's source NAT, which picks a random source
//! port anywhere in 1024-65535 (aws/amazon-vpc-cni-k8s#509), so replies must
//! be admitted on that whole range.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use serde_json::Value;

const TEMPLATE: &str = include_str!("../stacks/network.yaml");

/// An address outside the VPC (TEST-NET-3).
const REMOTE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// A public S3 address, reached through the S3 gateway endpoint.
const S3: Ipv4Addr = Ipv4Addr::new(52, 216, 0, 10);

// ---------------------------------------------------------------- addresses

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    net: u32,
    len: u32,
}

impl Cidr {
    fn parse(text: &str) -> Cidr {
        let (ip, len) = text
            .split_once('/')
            .unwrap_or_else(|| panic!("{text:?} is not an IPv4 CIDR"));
        let ip: Ipv4Addr = ip
            .parse()
            .unwrap_or_else(|_| panic!("{text:?} is not an IPv4 CIDR"));
        let len: u32 = len
            .parse()
            .unwrap_or_else(|_| panic!("{text:?} has no prefix length"));
        assert!(len <= 32, "{text:?}: prefix longer than 32");
        Cidr {
            net: u32::from(ip),
            len,
        }
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        }
    }

    fn contains(self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) & self.mask()) == (self.net & self.mask())
    }

    /// The `n`th address of the block.
    fn host(self, n: u32) -> Ipv4Addr {
        let block = self;
        assert!(
            u64::from(n) < (1u64 << (32 - self.len)),
            "{n} is outside {block}"
        );
        Ipv4Addr::from((self.net & self.mask()) + n)
    }

    fn last(self) -> Ipv4Addr {
        Ipv4Addr::from((self.net & self.mask()) | !self.mask())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.net), self.len)
    }
}

// ------------------------------------------------------------------ packets

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn number(self) -> i64 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Packet {
    proto: Proto,
    src: Ipv4Addr,
    src_port: u16,
    dst: Ipv4Addr,
    dst_port: u16,
}

fn packet(proto: Proto, src: Ipv4Addr, src_port: u16, dst: Ipv4Addr, dst_port: u16) -> Packet {
    Packet {
        proto,
        src,
        src_port,
        dst,
        dst_port,
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {}:{} -> {}:{}",
            self.proto, self.src, self.src_port, self.dst, self.dst_port
        )
    }
}

// ----------------------------------------------------------------- template

/// The template with a value for every parameter (its default, or an
/// override), and the few intrinsics network.yaml's ACLs, subnets and routes
/// use. Anything else fails loudly, so that a change to the template cannot
/// quietly change what these tests see.
struct Template {
    body: Value,
    params: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Str(String),
    List(Vec<String>),
    Resource(String),
}

/// `{ "Fn::X": arg }` -> ("Fn::X", arg).
fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    let map = v.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, a)| (k.as_str(), a))
}

fn args(v: &Value) -> &[Value] {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("expected a list of arguments, found {v}"))
}

impl Template {
    fn load(overrides: &[(&str, &str)]) -> Template {
        let body: Value = serde_norway::from_str(TEMPLATE).expect("stacks/network.yaml is YAML");
        let mut params = BTreeMap::new();
        let declared = body["Parameters"]
            .as_object()
            .expect("network.yaml has Parameters");
        for (name, p) in declared {
            if let Some(default) = p.get("Default") {
                let value = match default {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => panic!("parameter {name}: unexpected default {other}"),
                };
                params.insert(name.clone(), value);
            }
        }
        for (name, value) in overrides {
            assert!(
                declared.contains_key(*name),
                "network.yaml has no parameter {name}"
            );
            params.insert(name.to_string(), value.to_string());
        }
        Template { body, params }
    }

    fn condition(&self, name: &str) -> bool {
        let c = self.body["Conditions"]
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(c)
    }

    fn truth(&self, v: &Value) -> bool {
        let (key, arg) = intrinsic(v).unwrap_or_else(|| panic!("not a condition: {v}"));
        match key {
            "Fn::Equals" => {
                let a = args(arg);
                self.eval(&a[0]) == self.eval(&a[1])
            }
            "Fn::And" => args(arg).iter().all(|c| self.truth(c)),
            "Fn::Or" => args(arg).iter().any(|c| self.truth(c)),
            "Fn::Not" => !self.truth(&args(arg)[0]),
            "Condition" => self.condition(arg.as_str().expect("Condition takes a name")),
            other => panic!("condition function {other} is not evaluated here: {v}"),
        }
    }

    fn eval(&self, v: &Value) -> Val {
        match v {
            Value::String(s) => Val::Str(s.clone()),
            Value::Number(n) => Val::Str(n.to_string()),
            Value::Bool(b) => Val::Str(b.to_string()),
            Value::Array(items) => Val::List(items.iter().map(|i| self.string(i)).collect()),
            Value::Null => panic!("a property this test needs is missing"),
            Value::Object(_) => {
                let (key, arg) = intrinsic(v).unwrap_or_else(|| panic!("not an intrinsic: {v}"));
                match key {
                    "Ref" => self.reference(arg.as_str().expect("Ref takes a name")),
                    "Fn::Select" => {
                        let a = args(arg);
                        let i: usize = self
                            .string(&a[0])
                            .parse()
                            .expect("Fn::Select takes an index");
                        match self.eval(&a[1]) {
                            Val::List(items) => {
                                Val::Str(items.get(i).cloned().unwrap_or_else(|| {
                                    panic!("Fn::Select {i} past the end of {v}")
                                }))
                            }
                            other => panic!("Fn::Select from {other:?}"),
                        }
                    }
                    "Fn::If" => {
                        let a = args(arg);
                        let c = a[0].as_str().expect("Fn::If takes a condition name");
                        if self.condition(c) {
                            self.eval(&a[1])
                        } else {
                            self.eval(&a[2])
                        }
                    }
                    "Fn::Join" => {
                        let a = args(arg);
                        let separator = self.string(&a[0]);
                        match self.eval(&a[1]) {
                            Val::List(items) => Val::Str(items.join(separator.as_str())),
                            other => panic!("Fn::Join of {other:?}"),
                        }
                    }
                    other => panic!(
                        "stacks/network.yaml uses {other} here, which this test does not evaluate: {v}"
                    ),
                }
            }
        }
    }

    fn reference(&self, name: &str) -> Val {
        if let Some(p) = self.body["Parameters"].get(name) {
            let value = self
                .params
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("parameter {name} has no default; pass one"));
            let list = p["Type"]
                .as_str()
                .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
            if !list {
                Val::Str(value)
            } else if value.is_empty() {
                Val::List(Vec::new())
            } else {
                Val::List(value.split(',').map(|s| s.trim().to_string()).collect())
            }
        } else if self.body["Resources"].get(name).is_some() {
            Val::Resource(name.to_string())
        } else {
            panic!("Ref to {name}, which is neither a parameter nor a resource of network.yaml")
        }
    }

    fn string(&self, v: &Value) -> String {
        match self.eval(v) {
            Val::Str(s) => s,
            other => panic!("expected a string, found {other:?} from {v}"),
        }
    }

    /// The logical ID a property refers to (`Ref`, or an `Fn::If` of them).
    fn resource(&self, v: &Value) -> String {
        match self.eval(v) {
            Val::Resource(id) => id,
            other => panic!("expected a Ref to a resource, found {other:?} from {v}"),
        }
    }

    /// The resources of `kind` that exist under the parameter values.
    fn resources(&self, kind: &str) -> Vec<(&str, &Value)> {
        let mut found = Vec::new();
        for (id, r) in self.body["Resources"].as_object().expect("Resources") {
            if r["Type"] != kind {
                continue;
            }
            if let Some(c) = r.get("Condition")
                && !self.condition(c.as_str().expect("Condition is a name"))
            {
                continue;
            }
            found.push((id.as_str(), r));
        }
        found
    }
}

// ------------------------------------------------------------------ network

#[derive(Debug)]
struct Entry {
    id: String,
    rule: u32,
    protocol: i64,
    allow: bool,
    egress: bool,
    cidr: Cidr,
    ports: Option<(u16, u16)>,
}

impl Entry {
    fn matches(&self, p: &Packet, egress: bool) -> bool {
        if self.egress != egress {
            return false;
        }
        let peer = if egress { p.dst } else { p.src };
        if !self.cidr.contains(peer) {
            return false;
        }
        if self.protocol == -1 {
            return true;
        }
        if self.protocol != p.proto.number() {
            return false;
        }
        match self.ports {
            Some((from, to)) => (from..=to).contains(&p.dst_port),
            None => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Exit {
    InternetGateway,
    /// Through the NAT gateway in this (public) subnet.
    Nat(String),
    None,
}

#[derive(Debug)]
struct Subnet {
    cidr: Cidr,
    /// The template's ACLs associated with the subnet (exactly one, or AWS
    /// uses the VPC's default ACL, which admits everything).
    acls: Vec<String>,
    exit: Exit,
}

#[derive(Debug)]
struct Network {
    label: String,
    zones: usize,
    vpc: Cidr,
    app_port: u16,
    subnets: BTreeMap<String, Subnet>,
    /// Each ACL's entries, in RuleNumber order.
    acls: BTreeMap<String, Vec<Entry>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At<'a> {
    Internet,
    Subnet(&'a str),
}

impl Network {
    fn build(overrides: &[(&str, &str)]) -> Network {
        let t = Template::load(overrides);
        let vpcs = t.resources("AWS::EC2::VPC");
        assert_eq!(vpcs.len(), 1, "network.yaml creates one VPC");
        let vpc = Cidr::parse(&t.string(&vpcs[0].1["Properties"]["CidrBlock"]));

        let mut acls: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for (id, _) in t.resources("AWS::EC2::NetworkAcl") {
            acls.insert(id.to_string(), Vec::new());
        }
        for (id, r) in t.resources("AWS::EC2::NetworkAclEntry") {
            let p = &r["Properties"];
            let acl = t.resource(&p["NetworkAclId"]);
            assert!(
                p.get("Ipv6CidrBlock").is_none(),
                "{id}: IPv6 entries are not modelled by this test"
            );
            let protocol: i64 = t
                .string(&p["Protocol"])
                .parse()
                .unwrap_or_else(|_| panic!("{id}: Protocol is a number"));
            let ports = p.get("PortRange").map(|range| {
                let from: u16 = t.string(&range["From"]).parse().expect("PortRange From");
                let to: u16 = t.string(&range["To"]).parse().expect("PortRange To");
                (from, to)
            });
            if protocol == 6 || protocol == 17 {
                assert!(
                    ports.is_some(),
                    "{id}: TCP and UDP entries need a PortRange"
                );
            }
            let allow = match t.string(&p["RuleAction"]).as_str() {
                "allow" => true,
                "deny" => false,
                other => panic!("{id}: RuleAction {other}"),
            };
            let egress = p.get("Egress").is_some_and(|v| t.string(v) == "true");
            let entry = Entry {
                id: id.to_string(),
                rule: t
                    .string(&p["RuleNumber"])
                    .parse()
                    .unwrap_or_else(|_| panic!("{id}: RuleNumber is a number")),
                protocol,
                allow,
                egress,
                cidr: Cidr::parse(&t.string(&p["CidrBlock"])),
                ports,
            };
            acls.get_mut(&acl)
                .unwrap_or_else(|| panic!("{id} belongs to {acl}, not an ACL of the template"))
                .push(entry);
        }
        for entries in acls.values_mut() {
            entries.sort_by_key(|e| e.rule);
        }

        let mut subnets = BTreeMap::new();
        for (id, r) in t.resources("AWS::EC2::Subnet") {
            let cidr = Cidr::parse(&t.string(&r["Properties"]["CidrBlock"]));
            let acls_of_subnet: Vec<String> = t
                .resources("AWS::EC2::SubnetNetworkAclAssociation")
                .into_iter()
                .filter(|(_, a)| t.resource(&a["Properties"]["SubnetId"]) == id)
                .map(|(_, a)| t.resource(&a["Properties"]["NetworkAclId"]))
                .collect();
            let tables: Vec<String> = t
                .resources("AWS::EC2::SubnetRouteTableAssociation")
                .into_iter()
                .filter(|(_, a)| t.resource(&a["Properties"]["SubnetId"]) == id)
                .map(|(_, a)| t.resource(&a["Properties"]["RouteTableId"]))
                .collect();
            assert_eq!(tables.len(), 1, "{id} has one route table");
            let default_routes: Vec<&Value> = t
                .resources("AWS::EC2::Route")
                .into_iter()
                .map(|(_, route)| &route["Properties"])
                .filter(|p| {
                    t.resource(&p["RouteTableId"]) == tables[0]
                        && p.get("DestinationCidrBlock")
                            .is_some_and(|d| t.string(d) == "0.0.0.0/0")
                })
                .collect();
            let exit = match default_routes.as_slice() {
                [] => Exit::None,
                [route] => {
                    if let Some(gateway) = route.get("GatewayId") {
                        let gateway = t.resource(gateway);
                        assert_eq!(
                            t.body["Resources"][gateway.as_str()]["Type"],
                            "AWS::EC2::InternetGateway",
                            "{id}: default route to {gateway}"
                        );
                        Exit::InternetGateway
                    } else if let Some(nat) = route.get("NatGatewayId") {
                        let nat = t.resource(nat);
                        let nat_subnet = t
                            .resource(&t.body["Resources"][nat.as_str()]["Properties"]["SubnetId"]);
                        Exit::Nat(nat_subnet)
                    } else {
                        panic!("{id}: a default route this test does not know: {route}")
                    }
                }
                more => panic!("{id}: {} default routes", more.len()),
            };
            subnets.insert(
                id.to_string(),
                Subnet {
                    cidr,
                    acls: acls_of_subnet,
                    exit,
                },
            );
        }
        let app_port: u16 = t.params["AppPort"].parse().expect("AppPort is a port");
        let zones: usize = t.params["AzCount"].parse().expect("AzCount is a number");
        Network {
            label: format!("{overrides:?}"),
            zones,
            vpc,
            app_port,
            subnets,
            acls,
        }
    }

    /// Every configuration the tests run under.
    fn all() -> Vec<Network> {
        vec![
            Network::build(&[("AzCount", "2"), ("NatGatewayPerAz", "false")]),
            Network::build(&[("AzCount", "3"), ("NatGatewayPerAz", "true")]),
        ]
    }

    fn private_subnets(&self) -> Vec<&str> {
        self.subnets
            .iter()
            .filter(|(_, s)| matches!(s.exit, Exit::Nat(_)))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    fn public_subnets(&self) -> Vec<&str> {
        self.subnets
            .iter()
            .filter(|(_, s)| s.exit == Exit::InternetGateway)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// An address in the subnet (`n` steps past its first, avoiding the
    /// addresses AWS reserves at the start).
    fn host(&self, subnet: &str, n: u32) -> Ipv4Addr {
        self.subnets[subnet].cidr.host(n)
    }

    fn acl_of(&self, subnet: &str) -> &str {
        match self.subnets[subnet].acls.as_slice() {
            [acl] => acl.as_str(),
            other => panic!("{subnet} is associated with {other:?}, not one ACL"),
        }
    }

    /// The ACL's verdict on a packet, and the entry that gave it.
    fn decide(&self, acl: &str, egress: bool, p: &Packet) -> (bool, String) {
        for e in &self.acls[acl] {
            if e.matches(p, egress) {
                return (e.allow, format!("rule {} ({})", e.rule, e.id));
            }
        }
        (false, "the default rule *".to_string())
    }

    /// One packet moving from one place to another: the ACL of the subnet it
    /// leaves (outbound entries), then the ACL of the subnet it enters
    /// (inbound entries).
    fn hop(&self, p: &Packet, from: At<'_>, to: At<'_>) -> Result<(), String> {
        if from == to {
            return Ok(());
        }
        if let At::Subnet(s) = from {
            let (allowed, by) = self.decide(self.acl_of(s), true, p);
            if !allowed {
                return Err(format!("{}: {p} leaving {s}: denied by {by}", self.label));
            }
        }
        if let At::Subnet(s) = to {
            let (allowed, by) = self.decide(self.acl_of(s), false, p);
            if !allowed {
                return Err(format!("{}: {p} entering {s}: denied by {by}", self.label));
            }
        }
        Ok(())
    }

    fn path(&self, hops: &[(Packet, At<'_>, At<'_>)]) -> Result<(), String> {
        for (p, from, to) in hops {
            self.hop(p, *from, *to)?;
        }
        Ok(())
    }

    /// A host in a private subnet opens `proto` to `remote:port` on the
    /// internet through its NAT gateway, from local port `local_port`; the
    /// NAT gateway uses its own port `nat_port`. Ok if the request and the
    /// reply pass every ACL on the way.
    fn through_nat(
        &self,
        subnet: &str,
        proto: Proto,
        local_port: u16,
        nat_port: u16,
        remote: Ipv4Addr,
        port: u16,
    ) -> Result<(), String> {
        let nat_subnet = match &self.subnets[subnet].exit {
            Exit::Nat(s) => s.as_str(),
            other => return Err(format!("{subnet} reaches the internet through {other:?}")),
        };
        let node = self.host(subnet, 10);
        let nat = self.host(nat_subnet, 5);
        self.path(&[
            // The request, routed to the NAT gateway.
            (
                packet(proto, node, local_port, remote, port),
                At::Subnet(subnet),
                At::Subnet(nat_subnet),
            ),
            // Translated to the NAT gateway's address, out through the
            // internet gateway.
            (
                packet(proto, nat, nat_port, remote, port),
                At::Subnet(nat_subnet),
                At::Internet,
            ),
            // The reply, to the NAT gateway.
            (
                packet(proto, remote, port, nat, nat_port),
                At::Internet,
                At::Subnet(nat_subnet),
            ),
            // Translated back: only the destination changes.
            (
                packet(proto, remote, port, node, local_port),
                At::Subnet(nat_subnet),
                At::Subnet(subnet),
            ),
        ])
    }

    /// A client in `from` opens TCP `port` on a server in `to`, from its
    /// local port `local_port`; Ok if the request and the reply pass.
    fn tcp_between(
        &self,
        from: At<'_>,
        client: Ipv4Addr,
        local_port: u16,
        to: At<'_>,
        server: Ipv4Addr,
        port: u16,
    ) -> Result<(), String> {
        self.path(&[
            (
                packet(Proto::Tcp, client, local_port, server, port),
                from,
                to,
            ),
            (
                packet(Proto::Tcp, server, port, client, local_port),
                to,
                from,
            ),
        ])
    }
}

/// Local ports a connection from the private subnets may use: the Amazon
/// Linux range (32768-61000) and, for pods behind the VPC CNI's random source
/// NAT, anywhere in 1024-65535.
const LOCAL_PORTS: [u16; 7] = [1024, 5432, 9098, 30000, 32768, 60999, 65535];
/// Ports a NAT gateway uses for its translations (1024-65535).
const NAT_PORTS: [u16; 3] = [1024, 40000, 65535];

// -------------------------------------------------------------------- tests

#[test]
fn the_cidr_matcher_agrees_with_hand_worked_cases() {
    let private = Cidr::parse("10.40.64.0/18");
    assert!(private.contains(Ipv4Addr::new(10, 40, 64, 0)));
    assert!(private.contains(Ipv4Addr::new(10, 40, 127, 255)));
    assert!(!private.contains(Ipv4Addr::new(10, 40, 128, 0)));
    assert!(!private.contains(Ipv4Addr::new(10, 40, 63, 255)));
    assert_eq!(private.last(), Ipv4Addr::new(10, 40, 127, 255));
    assert_eq!(private.host(10), Ipv4Addr::new(10, 40, 64, 10));
    let world = Cidr::parse("0.0.0.0/0");
    assert!(world.contains(REMOTE) && world.contains(Ipv4Addr::new(10, 40, 0, 1)));
    let one = Cidr::parse("203.0.113.10/32");
    assert!(one.contains(REMOTE));
    assert!(!one.contains(Ipv4Addr::new(203, 0, 113, 11)));
    // A host address with bits past the prefix names the same block.
    assert!(Cidr::parse("10.40.1.2/16").contains(Ipv4Addr::new(10, 40, 255, 255)));
}

#[test]
fn every_subnet_lies_in_the_vpc_and_uses_one_of_the_templates_acls() {
    for net in Network::all() {
        assert_eq!(
            net.public_subnets().len(),
            net.zones,
            "{}: public subnets",
            net.label
        );
        assert_eq!(
            net.private_subnets().len(),
            net.zones,
            "{}: private subnets",
            net.label
        );
        for (id, s) in &net.subnets {
            assert!(
                net.vpc.contains(s.cidr.host(0)) && net.vpc.contains(s.cidr.last()),
                "{}: {id} ({}) is not inside the VPC ({})",
                net.label,
                s.cidr,
                net.vpc
            );
            // A subnet without an association falls back to the VPC's default
            // ACL, which admits everything.
            let acl = net.acl_of(id);
            assert!(net.acls.contains_key(acl), "{id}: {acl}");
        }
        let public: Vec<&str> = net.public_subnets().iter().map(|s| net.acl_of(s)).collect();
        let private: Vec<&str> = net
            .private_subnets()
            .iter()
            .map(|s| net.acl_of(s))
            .collect();
        assert!(
            public.iter().all(|a| !private.contains(a)),
            "{}: public and private subnets share an ACL",
            net.label
        );
    }
}

#[test]
fn acl_entries_are_numbered_as_aws_requires() {
    for net in Network::all() {
        for (acl, entries) in &net.acls {
            assert!(
                !entries.is_empty(),
                "{acl} has no entries: it denies everything"
            );
            let mut seen = std::collections::BTreeSet::new();
            for e in entries {
                assert!(
                    (1..=32766).contains(&e.rule),
                    "{}: RuleNumber {}",
                    e.id,
                    e.rule
                );
                assert!(
                    seen.insert((e.egress, e.rule)),
                    "{acl}: two {} entries numbered {}",
                    if e.egress { "outbound" } else { "inbound" },
                    e.rule
                );
            }
        }
    }
}

#[test]
fn a_nodes_https_call_to_the_internet_gets_its_reply() {
    for net in Network::all() {
        for subnet in net.private_subnets() {
            for local in LOCAL_PORTS {
                for nat in NAT_PORTS {
                    net.through_nat(subnet, Proto::Tcp, local, nat, REMOTE, 443)
                        .unwrap();
                }
            }
        }
    }
}

#[test]
fn udp_replies_through_the_nat_gateway_reach_the_nodes() {
    // NTP to a public server, DNS to a resolver outside the VPC.
    for net in Network::all() {
        for subnet in net.private_subnets() {
            for port in [123, 53] {
                for local in LOCAL_PORTS {
                    for nat in NAT_PORTS {
                        net.through_nat(subnet, Proto::Udp, local, nat, REMOTE, port)
                            .unwrap();
                    }
                }
            }
        }
    }
}

#[test]
fn s3_answers_the_nodes_through_the_gateway_endpoint() {
    // No NAT gateway: the reply comes straight from S3's public address.
    for net in Network::all() {
        for subnet in net.private_subnets() {
            let node = net.host(subnet, 10);
            for local in LOCAL_PORTS {
                net.tcp_between(At::Subnet(subnet), node, local, At::Internet, S3, 443)
                    .unwrap();
            }
        }
    }
}

#[test]
fn the_internet_cannot_open_a_port_below_1024_on_any_subnet_but_http_and_https_on_the_public_ones()
{
    for net in Network::all() {
        for subnet in net.private_subnets() {
            let host = net.host(subnet, 10);
            for port in [22, 25, 80, 443, 445, 1023] {
                for proto in [Proto::Tcp, Proto::Udp] {
                    let p = packet(proto, REMOTE, 40000, host, port);
                    assert!(
                        net.hop(&p, At::Internet, At::Subnet(subnet)).is_err(),
                        "{}: {p} enters {subnet}",
                        net.label
                    );
                }
            }
        }
        for subnet in net.public_subnets() {
            let host = net.host(subnet, 10);
            for port in [21, 22, 25, 445, 1023] {
                let p = packet(Proto::Tcp, REMOTE, 40000, host, port);
                assert!(
                    net.hop(&p, At::Internet, At::Subnet(subnet)).is_err(),
                    "{}: {p} enters {subnet}",
                    net.label
                );
            }
            let p = packet(Proto::Udp, REMOTE, 40000, host, 53);
            assert!(
                net.hop(&p, At::Internet, At::Subnet(subnet)).is_err(),
                "{p}"
            );
        }
    }
}

#[test]
fn postgresql_on_a_private_subnet_is_closed_to_the_internet_by_routes_and_security_groups() {
    // The ACL cannot refuse TCP 5432 from the internet: a stateless entry
    // cannot tell a new connection from the reply to a pod whose source port
    // the VPC CNI's random source NAT set to 5432, and refusing it would make
    // about one pod connection in 64,000 hang. So 5432 is
    // admitted by the ACL like the rest of 1024-65535, and closed by the two
    // other layers, which this test checks.
    let t = Template::load(&[]);
    let defaults = Network::build(&[]);
    for net in Network::all() {
        for subnet in net.private_subnets() {
            let p = packet(Proto::Tcp, REMOTE, 40000, net.host(subnet, 10), 5432);
            assert!(
                net.hop(&p, At::Internet, At::Subnet(subnet)).is_ok(),
                "{}: the ACL refuses {p}; replies to pods whose source NAT picked 5432 would hang",
                net.label
            );
        }
    }
    // No way in: private subnets give no public addresses and leave only
    // through a NAT gateway, which accepts no connection from the internet.
    for (id, r) in t.resources("AWS::EC2::Subnet") {
        if defaults.private_subnets().contains(&id) {
            assert_eq!(
                r["Properties"]["MapPublicIpOnLaunch"],
                Value::Bool(false),
                "{id} maps public addresses"
            );
        }
    }
    // And the database's security group admits only other security groups.
    let rds_group = &t.body["Resources"]["RdsSecurityGroup"];
    assert_eq!(rds_group["Type"], "AWS::EC2::SecurityGroup");
    assert!(
        rds_group["Properties"]
            .get("SecurityGroupIngress")
            .is_none(),
        "RdsSecurityGroup has inline ingress rules"
    );
    let mut sources = Vec::new();
    for (id, r) in t.resources("AWS::EC2::SecurityGroupIngress") {
        let p = &r["Properties"];
        if p["GroupId"]["Fn::GetAtt"][0] != "RdsSecurityGroup" {
            continue;
        }
        for key in ["CidrIp", "CidrIpv6", "SourcePrefixListId"] {
            assert!(p.get(key).is_none(), "{id} admits an address range ({key})");
        }
        let source = p["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: the source is not a group of this template"))
            .to_string();
        sources.push(source);
    }
    sources.sort();
    assert_eq!(sources, ["AppSecurityGroup", "EksNodeSecurityGroup"]);
}

#[test]
fn the_public_subnets_admit_http_and_https_from_anywhere_and_answer() {
    // Clients pick their own ports: Linux, Windows, old Windows, NAT devices.
    for net in Network::all() {
        for subnet in net.public_subnets() {
            let alb = net.host(subnet, 20);
            for port in [443, 80] {
                for client_port in [1024, 1025, 32768, 49152, 65535] {
                    net.tcp_between(
                        At::Internet,
                        REMOTE,
                        client_port,
                        At::Subnet(subnet),
                        alb,
                        port,
                    )
                    .unwrap();
                }
            }
        }
    }
}

#[test]
fn the_alb_reaches_the_app_and_the_pods_on_the_private_subnets() {
    for net in Network::all() {
        for public in net.public_subnets() {
            let alb = net.host(public, 20);
            for private in net.private_subnets() {
                let target = net.host(private, 30);
                for alb_port in [1024, 40000, 65535] {
                    net.tcp_between(
                        At::Subnet(public),
                        alb,
                        alb_port,
                        At::Subnet(private),
                        target,
                        net.app_port,
                    )
                    .unwrap();
                }
            }
        }
    }
}

#[test]
fn the_private_subnets_reach_each_other_across_zones() {
    // The app and the nodes in one zone, the database, Redis, MSK and
    // OpenSearch in another.
    for net in Network::all() {
        let private = net.private_subnets();
        for &from in &private {
            for &to in &private {
                for port in [5432, 6379, 9098, 443, 10250] {
                    net.tcp_between(
                        At::Subnet(from),
                        net.host(from, 10),
                        40000,
                        At::Subnet(to),
                        net.host(to, 40),
                        port,
                    )
                    .unwrap();
                }
            }
        }
    }
}
