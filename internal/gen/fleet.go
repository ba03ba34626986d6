package gen

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Fixed identifiers from the seeds: the first organization, seed 000's first
// victim and seed 001's two victims.
const (
	FirstOrgID      = "5a8c4a54e11909bd290021ed"
	FirstAccountID  = "123456789012"
	Seed000AgentID  = "b0f6bdb2-9904-11e9-b036-25972ec55a45"
	Seed001AgentID  = "436dd34c-f795-11ea-a752-21e3e3eb7c50"
	Seed001Instance = "i-08c9216f243e53fd4"
	Seed001Lateral  = "i-03128a5b8b894002a"
	Seed001Role     = "ec2VpcRole"
	Seed001S3Role   = "myS3Reader"
)

type osKind uint8

const (
	osUbuntu1804 osKind = iota
	osUbuntu2004
	osAmzn2
	osWin2016
	osWin2019
)

type osInfo struct {
	version  string
	kernel   string
	user     string // default login user
	shell    string // /bin/sh resolves to this
	ps       string
	cron     string
	windows  bool
	ubuntu   bool
	agentVer string
}

var osTable = [...]osInfo{
	osUbuntu1804: {"ubuntu-18.04", "4.15.0-1057-aws", "ubuntu", "/bin/dash", "/bin/ps", "/usr/sbin/cron", false, true, "2.1.5"},
	osUbuntu2004: {"ubuntu-20.04", "5.4.0-1024-aws", "ubuntu", "/usr/bin/dash", "/usr/bin/ps", "/usr/sbin/cron", false, true, "2.1.7"},
	osAmzn2:      {"amzn-2", "4.14.165-131.185.amzn2.x86_64", "ec2-user", "/usr/bin/bash", "/usr/bin/ps", "/usr/sbin/crond", false, false, "2.1.7"},
	osWin2016:    {"Windows Server 2016 Datacenter 10.0.14393", "14393", "Administrator", "", "", "", true, false, "2.3.0w"},
	osWin2019:    {"Windows Server 2019 Datacenter 10.0.17763", "17763", "Administrator", "", "", "", true, false, "2.3.0w"},
}

// backendNodes are the "backend node" ids that end Threat Stack's _id UUIDs.
var backendNodes = [...]string{"12888c50dde9", "0e400620ee11", "120acde9a693", "0a6f3e1d2b57", "1249bb0c7e3d", "0ef2d8a4c61b", "12c05e7f9a28", "0e9b41c6d370"}

// agentNodes are node ids of the UUIDs that name agents.
var agentNodes = [...]string{"25972ec55a45", "21e3e3eb7c50", "333bd87d55e3", "cdbb077e404d", "67d11ed42ec3", "5b3cd2f4c44c", "9ff87d185fab", "cf1b9557ec5a"}

type account struct {
	org     *org
	id      string
	region  string
	agentID string // the CloudTrail integration's agent id
	head    []byte // {"agent_id":..,"organization_id":..
	roleIDs map[string]string
	keyIDs  map[string]string
	idents  map[string]*identity
	bucket  []string
}

type admin struct {
	name string
	uid  int
}

type org struct {
	idx      int
	id       string
	acct     *account
	net      int // second octet of the VPC 10.N.0.0/16
	region   string
	domain   string // the region's internal DNS suffix
	bastion  string // private IP admins come from
	office   []string
	admins   []admin
	scanners []string
	hosts    []*host
	peers    peerSet
}

// peerSet holds the destinations an org's hosts talk to.
type peerSet struct {
	db, cache, queue, api []string
	alb                   []string
	resolver              string
}

type container struct {
	id, image, name string
	port            int
	health          string // health check command line
}

type host struct {
	idx       int
	org       *org
	os        osKind
	info      *osInfo
	role      string
	iamRole   string
	agentID   string
	hostname  string
	compName  string // Windows computer name
	privateIP string
	subnet    int
	publicIP  string
	instance  string
	since     int64 // the agent's first event (ms)
	container bool
	ctrs      []*container
	shimPIDs  []int32
	app       string // application process
	appPID    int32
	boot      int64

	head []byte // {"agent_id":"..","organization_id":".."
	meta []byte // ,"network_metadata":..,"alert_metadata":{..}
	work []byte // ,"workloadMetadata":{..}} (closes the event)

	// state advanced while rendering, in time order
	nextPID  int32
	auditID  int64
	seqID    int64
	recSec   int64
	recSys   int64
	nextSess int64
	logonID  int64
	habits   []habit
	habitSum float64
	cron     []*cronJob
	admins   []*adminUser
	peers    []peer
	ident    *identity // the instance role's CloudTrail identity
	creds    string    // a credentials file read by a cron job ("" when none)
	weight   float64
}

// victim slots: the first hosts of the first organization carry the seeds'
// identities whether or not the scenarios run, so a benign fleet has the
// same hosts.
const (
	slot000A = iota
	slot000B
	slot000C
	slot001A
	slot001B
	slot003
	numSlots
)

var roles = []string{"web", "api", "worker", "db", "build", "cache", "web", "api", "worker", "etl"}

// buildFleet makes the organizations and hosts. Identities depend only on
// the seed and the host's index.
func buildFleet(ctx context.Context, seed uint64, nHosts, nOrgs int, firstMS int64, rate float64, useSince bool) ([]*org, error) {
	orgs := make([]*org, nOrgs)
	for i := range orgs {
		orgs[i] = newOrg(seed, i)
	}
	idx := 0
	for oi, o := range orgs {
		n := nHosts / nOrgs
		if oi < nHosts%nOrgs {
			n++
		}
		used := map[string]bool{}
		for j := 0; j < n; j++ {
			if err := ctx.Err(); err != nil {
				return nil, err // a large fleet takes seconds: stop on a signal
			}
			h := newHost(seed, o, idx, j, n, used, firstMS, useSince)
			o.hosts = append(o.hosts, h)
			idx++
		}
		// the bastion is the first host with role bastion, else a fixed IP
		for _, h := range o.hosts {
			if h.role == "bastion" {
				o.bastion = h.privateIP
				break
			}
		}
	}
	for _, o := range orgs {
		for _, h := range o.hosts {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			h.render()
			planHabits(seed, h, rate)
		}
	}
	return orgs, nil
}

var regions = []struct{ name, domain string }{
	{"us-east-1", "ec2.internal"},
	{"us-east-2", "us-east-2.compute.internal"},
	{"us-west-2", "us-west-2.compute.internal"},
	{"eu-west-1", "eu-west-1.compute.internal"},
}

var adminNames = []string{"alice", "bwilson", "cjones", "dpatel", "emartin", "fnguyen", "gkim", "hsato", "jlopez", "kmurphy"}

func newOrg(seed uint64, i int) *org {
	r := newRand(seed, 0x0a90, uint64(i))
	o := &org{idx: i, net: i}
	if i == 0 {
		o.id = FirstOrgID
		o.region, o.domain = regions[0].name, regions[0].domain
	} else {
		ts := 0x5a000000 + r.Uint64N(0x04000000)
		o.id = string(appendHex(nil, ts, 8)) + randHex(r, 16)
		rg := regions[r.IntN(len(regions))]
		o.region, o.domain = rg.name, rg.domain
		// Each organization's own VPC: separate customers may use the
		// same 10.N/16, and N stays an octet however many there are.
		o.net = 10 + i%240
	}
	o.bastion = ipString(10, o.net, 0, 10)
	for k := 0; k < 2; k++ {
		o.office = append(o.office, ipString(pick(r, []int{24, 64, 73, 96, 108, 173}), 10+r.IntN(200), r.IntN(255), 2+r.IntN(250)))
	}
	names := append([]string(nil), adminNames...)
	r.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	for k := 0; k < 3+r.IntN(2); k++ {
		o.admins = append(o.admins, admin{names[k], 1001 + k})
	}
	for k := 0; k < 24; k++ {
		o.scanners = append(o.scanners, ipString(pick(r, []int{45, 61, 89, 112, 118, 141, 159, 185, 193, 218, 222}), r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	}
	p := &o.peers
	p.resolver = ipString(10, o.net, 0, 2)
	for k := 0; k < 2; k++ {
		p.db = append(p.db, ipString(10, o.net, 2, 10+r.IntN(200)))
		p.cache = append(p.cache, ipString(10, o.net, 2, 10+r.IntN(200)))
		p.queue = append(p.queue, ipString(10, o.net, 3, 10+r.IntN(200)))
		p.api = append(p.api, ipString(10, o.net, 1, 10+r.IntN(200)))
		p.alb = append(p.alb, ipString(10, o.net, 1, 200+r.IntN(50)))
	}
	a := &account{org: o, region: o.region, roleIDs: map[string]string{}, keyIDs: map[string]string{}, idents: map[string]*identity{}}
	if i == 0 {
		a.id = FirstAccountID
	} else {
		a.id = randDigits(r, 12)
	}
	a.agentID = uuidV1(r, time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()+r.Int64N(200*86400000), agentNodes[r.IntN(len(agentNodes))])
	a.head = headBytes(a.agentID, o.id)
	a.bucket = []string{"app-assets-" + a.id[:6], "logs-" + o.region + "-" + a.id[:6], "backups-" + a.id[:6], "terraform-state-" + a.id[:6]}
	o.acct = a
	return o
}

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

func newHost(seed uint64, o *org, idx, j, n int, used map[string]bool, firstMS int64, useSince bool) *host {
	r := newRand(seed, 0x4057, uint64(idx))
	h := &host{idx: idx, org: o, weight: 0.6 + 0.8*r.Float64()}
	// OS and role
	switch {
	case o.idx == 0 && j < numSlots:
		switch j {
		case slot001A, slot001B:
			h.os = osUbuntu2004
		default:
			h.os = osUbuntu1804
		}
		h.role = []string{"web", "api", "worker", "app", "app", "web"}[j]
	case j == numSlots && o.idx == 0, j == 0 && o.idx > 0:
		h.os, h.role = osAmzn2, "bastion"
	default:
		x := r.Float64()
		switch {
		case x < 0.12 && n >= 6:
			h.os = osWin2016
			if r.IntN(2) == 0 {
				h.os = osWin2019
			}
			h.role = pick(r, []string{"dc", "iis", "sqlserver", "rdgw"})
		case x < 0.45:
			h.os = osAmzn2
		case x < 0.75:
			h.os = osUbuntu1804
		default:
			h.os = osUbuntu2004
		}
		if h.role == "" {
			h.role = pick(r, roles)
			if r.Float64() < 0.3 {
				h.role = "k8s-node"
			}
		}
	}
	h.info = &osTable[h.os]
	h.container = h.role == "k8s-node" || (h.role == "build" && !h.info.windows)

	// network identity
	subnets := min(max(3, (n+119)/120), 254) // see MaxHostsPerOrg
	for {
		subnet := 1 + r.IntN(subnets)
		ip := ipString(10, o.net, subnet, 10+r.IntN(240))
		if !used[ip] {
			used[ip] = true
			h.privateIP, h.subnet = ip, subnet
			break
		}
	}
	if h.role == "web" || h.role == "bastion" || h.role == "iis" || h.role == "rdgw" || h.role == "app" || r.Float64() < 0.2 {
		h.publicIP = ipString(pick(r, []int{3, 18, 34, 35, 52, 54}), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	h.instance = "i-0" + randHex(r, 16)
	h.hostname = "ip-" + strings.ReplaceAll(h.privateIP, ".", "-") + "." + o.domain
	if h.info.windows {
		h.compName = "EC2AMAZ-" + randUpperAlnum(r, 7)
	}
	installed := time.Date(2019, 1, 10, 0, 0, 0, 0, time.UTC).UnixMilli() + r.Int64N(360*86400000)
	h.agentID = uuidV1(r, installed, agentNodes[r.IntN(len(agentNodes))])
	h.iamRole = h.role + "-instance-role"
	if o.idx == 0 {
		switch j {
		case slot000A:
			h.agentID = Seed000AgentID
		case slot001A:
			h.agentID, h.instance, h.iamRole = Seed001AgentID, Seed001Instance, Seed001Role
			h.publicIP = "54.157.44.114"
		case slot001B:
			// launched just after the first, registered by the same backend
			h.agentID = string(appendUUIDv1(nil, uuidTimeMS(Seed001AgentID)+372517, 4821, 0x25a1, "21e3e3eb7c50"))
			h.instance, h.iamRole = Seed001Lateral, Seed001S3Role
			h.publicIP = ""
		}
	}
	if useSince && h.agentID != Seed000AgentID {
		// agents appear at their registration time (seed 001's were new)
		if ms := uuidTimeMS(h.agentID); ms > firstMS {
			h.since = ms
		}
	}
	h.boot = h.since
	if h.boot == 0 {
		h.boot = firstMS - (1+r.Int64N(40))*86400000 - r.Int64N(86400000)
	}
	h.nextPID = 1000 + r.Int32N(20000)
	h.auditID = 1000 + r.Int64N(4000000)
	h.seqID = 4.2e17 + r.Int64N(1e16)
	h.recSec = 100000 + r.Int64N(30000000)
	h.recSys = 1000 + r.Int64N(5000000)
	h.nextSess = 1 + r.Int64N(400)
	h.logonID = 0x100000 + r.Int64N(0xfffff)

	if h.container {
		images := []string{"nginx:1.17", "redis:5.0", "python:3.8-slim", "node:12-alpine", "grafana/grafana:6.6.2", "prom/node-exporter:v0.18.1", "spring4shell", "jenkins/inbound-agent:4.3", "fluent/fluentd:v1.9"}
		k := 2 + r.IntN(3)
		for c := 0; c < k; c++ {
			img := pick(r, images)
			name := strings.SplitN(strings.SplitN(img, ":", 2)[0], "/", 2)
			ct := &container{id: randHex(r, 64), image: img, name: name[len(name)-1] + "-" + strconv.Itoa(c), port: 8000 + r.IntN(2000)}
			ct.health = "curl -fs http://localhost:" + strconv.Itoa(ct.port) + "/health || exit 1"
			h.ctrs = append(h.ctrs, ct)
			h.shimPIDs = append(h.shimPIDs, 2000+r.Int32N(3000))
		}
	}
	h.app = appFor(h)
	h.appPID = 900 + r.Int32N(1500)
	return h
}

// uuidTimeMS reads the time of a version-1 UUID in epoch ms.
func uuidTimeMS(u string) int64 {
	if len(u) != 36 || u[14] != '1' {
		return 0
	}
	hex := u[15:18] + u[9:13] + u[0:8]
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0
	}
	return int64((v - gregorianOffset) / 10000)
}

func appFor(h *host) string {
	switch h.role {
	case "web":
		return "/usr/sbin/nginx"
	case "api", "app":
		return "/usr/bin/node"
	case "worker", "etl":
		return "/usr/bin/python3.6"
	case "db":
		return "/usr/lib/postgresql/10/bin/postgres"
	case "cache":
		return "/usr/bin/redis-server"
	case "build":
		return "/usr/bin/java"
	case "bastion":
		return "/usr/sbin/sshd"
	case "k8s-node":
		return "/usr/bin/kubelet"
	}
	return "/usr/bin/node"
}

// render pre-renders the host's constant JSON blocks.
func (h *host) render() {
	o := h.org
	r := newRand(uint64(h.idx), 0x3e7a, 0)
	h.head = headBytes(h.agentID, o.id)

	az := o.region + string(rune('a'+(h.subnet-1)%3))
	ni := obj{}
	ni.l("private_dns_name", []string{h.hostname})
	ni.l("private_ip_address", []string{h.privateIP})
	if h.publicIP != "" {
		pub := "ec2-" + strings.ReplaceAll(h.publicIP, ".", "-") + "." + o.region + ".compute.amazonaws.com"
		if o.region == "us-east-1" {
			pub = "ec2-" + strings.ReplaceAll(h.publicIP, ".", "-") + ".compute-1.amazonaws.com"
		}
		ni.l("public_dns_name", []string{pub})
		ni.l("public_ip_address", []string{h.publicIP})
	} else {
		ni.l("public_dns_name", []string{})
		ni.l("public_ip_address", []string{})
	}
	ni.s("subnet_id", "subnet-"+randHex(r, 17))
	ni.s("vpc_id", "vpc-0"+string(appendHex(nil, mix(uint64(o.idx)+77), 16)))
	ni.s("network_interface", "eni-0"+randHex(r, 16))
	nm := append(append([]byte{'['}, ni.bytes()...), ']')

	am := obj{}
	agentSuffix := "0001020304050607"
	if h.info.windows {
		agentSuffix = randHex(r, 16)
	}
	am.s("agent_id", o.id+"-"+uuidV1(r, uuidTimeMS(h.agentID)-r.Int64N(600000), agentNodes[r.IntN(len(agentNodes))])+agentSuffix)
	am.s("deployment_mode", "host")
	am.s("version", h.info.agentVer)

	hm := obj{}
	hm.s("hostname", h.hostname)
	hm.s("kernel", h.info.kernel)
	hm.s("os_version", h.info.version)
	hm.s("image_id", amiFor(h.os, o.region))
	hm.s("instance_id", h.instance)
	hm.s("instance_type", pick(r, instanceTypes[h.role]))
	hm.s("instance_arn", "arn:aws:iam::"+o.acct.id+":instance-profile/"+h.iamRole)
	if !h.info.windows {
		hm.s("server_name", strings.SplitN(h.hostname, ".", 2)[0])
	}

	pm := obj{}
	pm.s("cloud_provider", "aws")
	pm.s("account_id", o.acct.id)
	pm.s("availability_zone", az)

	b := []byte(`,"network_metadata":`)
	b = append(b, nm...)
	b = append(b, `,"agent_metadata":`...)
	b = append(b, am.bytes()...)
	b = append(b, `,"host_metadata":`...)
	b = append(b, hm.bytes()...)
	b = append(b, `,"provider_metadata":`...)
	b = append(b, pm.bytes()...)
	b = append(b, `,"alert_metadata":{"rule_matches":[],"match_state":"UNMATCHED","num_matched":0,"num_suppressed":0}`...)
	h.meta = b

	wm := obj{}
	env := "prod"
	if h.idx%5 == 4 {
		env = "staging"
	}
	wm.s("env", env)
	wm.s("role", env+"."+h.role+"."+strconv.Itoa(1+h.idx%7))
	wm.s("team", pick(r, []string{"platform", "payments", "data", "growth", "infra"}))
	w := append([]byte(`,"workloadMetadata":`), wm.bytes()...)
	if h.info.windows || h.container {
		w = append(w, `,"containerLabels":{}`...)
	}
	h.work = append(w, '}')
}

var instanceTypes = map[string][]string{
	"web": {"t3.medium", "c5.large", "m5.large"}, "api": {"m5.large", "c5.xlarge"}, "app": {"t3.medium", "t3.large"},
	"worker": {"c5.xlarge", "m5.xlarge"}, "db": {"r5.large", "r5.xlarge"}, "build": {"c5.2xlarge"}, "cache": {"r5.large"},
	"etl": {"m5.2xlarge"}, "bastion": {"t3.micro", "t2.micro"}, "k8s-node": {"m5.xlarge", "m5.2xlarge"},
	"dc": {"t3.large", "m5.large"}, "iis": {"t3.medium", "t2.medium"}, "sqlserver": {"r5.xlarge"}, "rdgw": {"t3.medium"},
}

func amiFor(k osKind, region string) string {
	x := mix(uint64(k)*131 + uint64(len(region))*7 + uint64(region[len(region)-1]))
	return "ami-0" + string(appendHex(nil, x, 16))
}

// headBytes renders an event's opening keys.
func headBytes(agent, org string) []byte {
	b := str([]byte(`{"agent_id":`), agent)
	b = append(b, `,"organization_id":`...)
	return str(b, org)
}

// MaxHostsPerOrg bounds one organization's fleet: its private addresses are
// 10.N.S.10-249 in subnets S = 1..254 of its own /16, kept at most half
// full so that drawing a free one at random takes a try or two.
const MaxHostsPerOrg = 254 * 120
