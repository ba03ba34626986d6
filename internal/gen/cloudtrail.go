package gen

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// identity is a CloudTrail principal with its userIdentity pre-rendered
// around the session's creation date.
type identity struct {
	typ     string // AssumedRole, IAMUser, AWSService
	arn     string
	arnRole string
	name    string
	pre     []byte // ,"userIdentity":{... up to "creationDate":"
	post    []byte // "}}} closing
	flat    []byte // TS's flattened keys: userType, userArn, arnRole
}

// ctEv is one planned CloudTrail record.
type ctEv struct {
	acct      *account
	id        *identity
	name      string
	source    string
	srcIP     string
	ua        string
	req       []byte // requestParameters, nil = null
	resp      []byte // responseElements, nil = null
	err       string
	errMsg    string
	readOnly  bool
	data      bool   // an S3 data event
	resources []byte // resources array, S3 data events
	extra     []byte // additionalEventData
}

func (a *account) roleID(role string) string {
	if id, ok := a.roleIDs[role]; ok {
		return id
	}
	r := newRand(mix(uint64(len(role))), uint64(role[0])<<8|uint64(role[len(role)-1]), uint64(len(a.roleIDs)))
	id := "AROA" + randUpperAlnum(r, 17)
	a.roleIDs[role] = id
	return id
}

func (a *account) keyID(prefix, who string) string {
	if id, ok := a.keyIDs[prefix+who]; ok {
		return id
	}
	r := newRand(mix(uint64(len(who))*977), uint64(who[0]), uint64(len(a.keyIDs)))
	id := prefix + randUpperAlnum(r, 16)
	a.keyIDs[prefix+who] = id
	return id
}

// roleIdentity is an assumed role's session (an instance's, for EC2 roles).
func (a *account) roleIdentity(role, session string) *identity {
	if id, ok := a.idents["r/"+role+"/"+session]; ok {
		return id
	}
	rid := a.roleID(role)
	arn := "arn:aws:sts::" + a.id + ":assumed-role/" + role + "/" + session
	id := &identity{typ: "AssumedRole", arn: arn, arnRole: "assumed-role/" + role + "/" + session, name: role}
	o := obj{}
	o.s("type", "AssumedRole").s("principalId", rid+":"+session).s("arn", arn).s("accountId", a.id).s("accessKeyId", a.keyID("ASIA", role+session))
	si := (&obj{}).s("type", "Role").s("principalId", rid).s("arn", "arn:aws:iam::"+a.id+":role/"+role).s("accountId", a.id).s("userName", role).bytes()
	o.raw("sessionContext", append(append([]byte(`{"sessionIssuer":`), si...), `,"webIdFederationData":{},"attributes":{"mfaAuthenticated":"false","creationDate":"`...))
	pre := append([]byte(`,"userIdentity":`), o.b...) // unterminated: creationDate follows
	id.pre = pre
	id.post = []byte(`"}}}`)
	id.flat = flatIdentity(id)
	a.idents["r/"+role+"/"+session] = id
	return id
}

// userIdentity is an IAM user's access key.
func (a *account) userIdentity(user string, console bool) *identity {
	key := "u/" + user + "/" + strconv.FormatBool(console)
	if id, ok := a.idents[key]; ok {
		return id
	}
	arn := "arn:aws:iam::" + a.id + ":user/" + user
	id := &identity{typ: "IAMUser", arn: arn, arnRole: "user/" + user, name: user}
	o := obj{}
	o.s("type", "IAMUser").s("principalId", "AIDA"+a.keyID("AIDA", user)[4:]+"X").s("arn", arn).s("accountId", a.id)
	o.s("accessKeyId", a.keyID("AKIA", user)).s("userName", user)
	if console {
		o.raw("sessionContext", []byte(`{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"mfaAuthenticated":"true","creationDate":"`))
		id.pre = append([]byte(`,"userIdentity":`), o.b...)
		id.post = []byte(`"}}}`)
	} else {
		id.pre = append([]byte(`,"userIdentity":`), o.bytes()...)
	}
	id.flat = flatIdentity(id)
	a.idents[key] = id
	return id
}

func flatIdentity(id *identity) []byte {
	b := kstr(nil, "userType", id.typ)
	b = kstr(b, "userArn", id.arn)
	b = kstr(b, "arnRole", id.arnRole)
	return kstr(b, "userName", id.name)
}

// renderCloudTrail renders a CloudTrail record as Threat Stack stores it:
// the record's own keys plus flattened userType, userArn and arnRole.
func (w *renderer) renderCloudTrail(b []byte, s *spec) ([]byte, int, int) {
	c := s.ct
	var i, j int
	b, i, j = w.head(b, c.acct.head, s.t, "cloudtrail")
	b = append(b, `,"eventVersion":"1.05"`...)
	b = append(b, c.id.pre...)
	tm := time.UnixMilli(s.t).UTC()
	if c.id.post != nil {
		// sessions are refreshed every six hours
		b = tm.Truncate(6*time.Hour).Add(time.Duration(c.id.arn[len(c.id.arn)-1]%50)*time.Minute).AppendFormat(b, "2006-01-02T15:04:05Z")
		b = append(b, c.id.post...)
	}
	b = append(b, `,"eventTime":"`...)
	b = tm.AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, '"')
	b = kstr(b, "eventSource", c.source)
	b = kstr(b, "eventName", c.name)
	b = kstr(b, "awsRegion", c.acct.region)
	b = kstr(b, "sourceIPAddress", c.srcIP)
	b = kstr(b, "userAgent", c.ua)
	if c.err != "" {
		b = kstr(b, "errorCode", c.err)
		b = kstr(b, "errorMessage", c.errMsg)
	}
	b = append(b, `,"requestParameters":`...)
	if c.req == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, c.req...)
	}
	b = append(b, `,"responseElements":`...)
	if c.resp == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, c.resp...)
	}
	if c.extra != nil {
		b = append(b, `,"additionalEventData":`...)
		b = append(b, c.extra...)
	}
	b = append(b, `,"requestID":"`...)
	if c.data {
		b = appendUpperHex(b, w.r.Uint64(), 16)
	} else {
		b = w.appendUUID4(b)
	}
	b = append(b, `","eventID":"`...)
	b = w.appendUUID4(b)
	b = append(b, '"')
	if c.readOnly {
		b = append(b, `,"readOnly":true`...)
	} else {
		b = append(b, `,"readOnly":false`...)
	}
	if c.resources != nil {
		b = append(b, `,"resources":`...)
		b = append(b, c.resources...)
	}
	b = append(b, `,"eventType":"AwsApiCall"`...)
	b = kbool(b, "managementEvent", !c.data)
	b = kstr(b, "recipientAccountId", c.acct.id)
	b = append(b, c.id.flat...)
	b = append(b, `,"alert_metadata":{"rule_matches":[],"match_state":"UNMATCHED","num_matched":0,"num_suppressed":0}}`...)
	return b, i, j
}

func (w *renderer) appendUUID4(b []byte) []byte {
	x, y := w.r.Uint64(), w.r.Uint64()
	b = appendHex(b, x>>32, 8)
	b = append(b, '-')
	b = appendHex(b, x>>16, 4)
	b = append(b, '-')
	b = appendHex(b, 0x4000|x&0x0fff, 4)
	b = append(b, '-')
	b = appendHex(b, 0x8000|y&0x3fff, 4)
	b = append(b, '-')
	return appendHex(b, y>>16, 12)
}

// ecsTasks are the running ECS tasks' role session names.
var ecsTasks = []string{"3f1c9a0e", "b74d2e61", "0c95af13", "e2d8b7c4"}

const (
	uaSSM     = "aws-sdk-go/1.25.41 (go1.13.8; linux; amd64) amazon-ssm-agent/2.3.978.0"
	uaDatadog = "datadog-aws-integration/1.0 botocore/1.13.43 Python/2.7.16 Linux/4.14.146"
	uaTF      = "APN/1.0 HashiCorp/1.0 Terraform/0.12.24 (+https://www.terraform.io) terraform-provider-aws/2.55.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.29.34 (go1.13.8; linux; amd64)"
	uaCI      = "aws-cli/1.18.39 Python/3.6.9 Linux/4.15.0-1057-aws botocore/1.15.39"
	uaConsole = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Safari/537.36"
	uaBoto    = "Boto3/1.12.39 Python/3.7.6 Linux/4.14.165-102.205.amzn2.x86_64 exec-env/AWS_Lambda_python3.7 Botocore/1.15.39"
)

func reqJSON(kv ...string) []byte {
	o := obj{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.s(kv[i], kv[i+1])
	}
	return o.bytes()
}

// s3Resources renders the resources array of an S3 data event.
func s3Resources(acct, bucket, key string) []byte {
	b := []byte(`[`)
	if key != "" {
		b = append(b, `{"type":"AWS::S3::Object","ARN":`...)
		b = str(b, "arn:aws:s3:::"+bucket+"/"+key)
		b = append(b, `},`...)
	}
	b = append(b, `{"accountId":`...)
	b = str(b, acct)
	b = append(b, `,"type":"AWS::S3::Bucket","ARN":`...)
	b = str(b, "arn:aws:s3:::"+bucket)
	return append(b, `}]`...)
}

var s3Extra = []byte(`{"SignatureVersion":"SigV4","CipherSuite":"ECDHE-RSA-AES128-SHA","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zt3ZpN0s1cCkzP8bdfzwV9DwJ7nY0YN2w3Q5cKj3xVrT4RrKcOF6mFa0sEoQdGnqvuYpK0Kyx1Q=","bytesTransferredOut":1824}`)

// planCloudTrailHour plans an organization's routine CloudTrail for an hour.
func (o *org) planCloudTrailHour(g *planner, r *rand.Rand, hs int64, target float64) {
	a := o.acct
	var linux []*host
	for _, h := range o.hosts {
		if !h.info.windows && h.since < hs+3600000 {
			linux = append(linux, h)
		}
	}
	work := workFactor(hs)
	hod := hourOfDay(hs)
	n := 0
	emit := func(t int64, c *ctEv) {
		g.add(spec{t: t, kind: kCloudTrail, ct: c})
		n++
	}
	for guard := 0; float64(n) < target && guard < int(target)*3+10; guard++ {
		t := hs + r.Int64N(3600000)
		x := r.Float64() * (10 + 3*work)
		switch {
		case x < 4 && len(linux) > 0:
			h := pick(r, linux)
			if h.ident == nil {
				h.ident = a.roleIdentity(h.iamRole, h.instance)
			}
			src := h.publicIP
			if src == "" {
				src = ipString(3, 208, 17+o.idx, 41)
			}
			plat, ver := "Ubuntu", strings.TrimPrefix(h.info.version, "ubuntu-")
			if h.os == osAmzn2 {
				plat, ver = "Amazon Linux", "2"
			}
			emit(t, &ctEv{acct: a, id: h.ident, name: "UpdateInstanceInformation", source: "ssm.amazonaws.com", srcIP: src, ua: uaSSM,
				req: reqJSON("instanceId", h.instance, "agentVersion", "2.3.978.0", "agentStatus", "Active", "platformType", "Linux", "platformName", plat, "platformVersion", ver, "iPAddress", h.privateIP, "computerName", h.hostname, "agentName", "amazon-ssm-agent", "availabilityZone", o.region+string(rune('a'+h.subnet-1)))})
		case x < 7:
			id := a.roleIdentity("datadog-integration", "DatadogAWSIntegration")
			src := "3.228.26." + strconv.Itoa(100+r.IntN(50))
			switch r.IntN(5) {
			case 0:
				emit(t, &ctEv{acct: a, id: id, name: "DescribeInstances", source: "ec2.amazonaws.com", srcIP: src, ua: uaDatadog, readOnly: true,
					req: []byte(`{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`)})
			case 1:
				emit(t, &ctEv{acct: a, id: id, name: "DescribeVolumes", source: "ec2.amazonaws.com", srcIP: src, ua: uaDatadog, readOnly: true, req: []byte(`{"volumeSet":{},"filterSet":{}}`)})
			case 2:
				emit(t, &ctEv{acct: a, id: id, name: "GetResources", source: "tagging.amazonaws.com", srcIP: src, ua: uaDatadog, readOnly: true, req: []byte(`{"resourceTypeFilters":["ec2:instance"],"resourcesPerPage":50}`)})
			case 3:
				emit(t, &ctEv{acct: a, id: id, name: "DescribeLoadBalancers", source: "elasticloadbalancing.amazonaws.com", srcIP: src, ua: uaDatadog, readOnly: true, req: []byte(`{"pageSize":400}`)})
			default:
				emit(t, &ctEv{acct: a, id: id, name: "DescribeSnapshots", source: "ec2.amazonaws.com", srcIP: src, ua: uaDatadog, readOnly: true, req: []byte(`{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]}}`),
					err: "Client.UnauthorizedOperation", errMsg: "You are not authorized to perform this operation."})
			}
		case x < 8.5:
			id := a.roleIdentity("lambda-thumbnailer", "thumbnailer")
			emit(t, &ctEv{acct: a, id: id, name: "Decrypt", source: "kms.amazonaws.com", srcIP: "54.210." + strconv.Itoa(r.IntN(255)) + "." + strconv.Itoa(r.IntN(255)), ua: uaBoto, readOnly: true,
				req: []byte(`{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"LambdaFunctionName":"thumbnailer"}}`)})
		case x < 9.3:
			id := a.roleIdentity("ecsTaskExecutionRole", "ecs-task-"+ecsTasks[r.IntN(len(ecsTasks))])
			emit(t, &ctEv{acct: a, id: id, name: "GetAuthorizationToken", source: "ecr.amazonaws.com", srcIP: "ecs-tasks.amazonaws.com", ua: "ecs-tasks.amazonaws.com", readOnly: true, req: []byte(`{"registryIds":["` + a.id + `"]}`)})
		case x < 10:
			if hod >= 1 && hod <= 5 {
				id := a.roleIdentity("backup-service", "nightly-backup")
				key := "db/" + time.UnixMilli(t).UTC().Format("2006-01-02") + "/base-" + randHex(r, 8) + ".tar.gz"
				emit(t, &ctEv{acct: a, id: id, name: "PutObject", source: "s3.amazonaws.com", srcIP: ipString(3, 208, 17+o.idx, 41), ua: "[" + uaCI + "]", data: true,
					req: reqJSON("bucketName", a.bucket[2], "Host", a.bucket[2]+".s3.amazonaws.com", "key", key), resources: s3Resources(a.id, a.bucket[2], key), extra: s3Extra})
			} else {
				id := a.roleIdentity("ecsTaskExecutionRole", "ecs-task-"+ecsTasks[r.IntN(len(ecsTasks))])
				emit(t, &ctEv{acct: a, id: id, name: "CreateLogStream", source: "logs.amazonaws.com", srcIP: "ecs-tasks.amazonaws.com", ua: "ecs-tasks.amazonaws.com",
					req: reqJSON("logGroupName", "/ecs/api", "logStreamName", "ecs/api/"+randHex(r, 32))})
			}
		case x < 11.5:
			id := a.userIdentity("ci-deployer", false)
			src := ipString(34, 74, 90, 64+r.IntN(32))
			switch r.IntN(4) {
			case 0:
				emit(t, &ctEv{acct: a, id: id, name: "GetAuthorizationToken", source: "ecr.amazonaws.com", srcIP: src, ua: uaCI, readOnly: true, req: []byte(`{}`)})
			case 1:
				emit(t, &ctEv{acct: a, id: id, name: "DescribeServices", source: "ecs.amazonaws.com", srcIP: src, ua: uaCI, readOnly: true, req: []byte(`{"cluster":"prod","services":["api","web"]}`)})
			case 2:
				emit(t, &ctEv{acct: a, id: id, name: "UpdateService", source: "ecs.amazonaws.com", srcIP: src, ua: uaCI, req: []byte(`{"cluster":"prod","service":"api","forceNewDeployment":true}`)})
			default:
				key := "static/app." + randHex(r, 8) + ".js"
				emit(t, &ctEv{acct: a, id: id, name: "PutObject", source: "s3.amazonaws.com", srcIP: src, ua: "[" + uaCI + "]", data: true,
					req: reqJSON("bucketName", a.bucket[0], "Host", a.bucket[0]+".s3.amazonaws.com", "key", key), resources: s3Resources(a.id, a.bucket[0], key), extra: s3Extra})
			}
		case x < 12.2:
			id := a.userIdentity("terraform", false)
			src := pick(r, o.office)
			names := []string{"DescribeVpcs", "DescribeSecurityGroups", "DescribeSubnets", "GetRole", "ListAttachedRolePolicies", "DescribeDBInstances"}
			srcs := []string{"ec2", "ec2", "ec2", "iam", "iam", "rds"}
			k := r.IntN(len(names))
			c := &ctEv{acct: a, id: id, name: names[k], source: srcs[k] + ".amazonaws.com", srcIP: src, ua: uaTF, readOnly: true, req: []byte(`{}`)}
			if r.IntN(20) == 0 {
				c.err, c.errMsg = "AccessDenied", "User: "+id.arn+" is not authorized to perform: "+srcs[k]+":"+names[k]
			}
			emit(t, c)
		default:
			ad := o.admins[r.IntN(len(o.admins))].name
			id := a.userIdentity(ad, true)
			src := pick(r, o.office)
			if r.IntN(4) == 0 {
				emit(t, &ctEv{acct: a, id: a.userIdentity(ad, false), name: "ConsoleLogin", source: "signin.amazonaws.com", srcIP: src, ua: uaConsole,
					resp: []byte(`{"ConsoleLogin":"Success"}`), extra: []byte(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":"Yes"}`)})
			} else {
				names := []string{"DescribeInstances", "DescribeAlarms", "GetBucketPolicy", "DescribeSecurityGroups", "ListBuckets"}
				srcs := []string{"ec2", "monitoring", "s3", "ec2", "s3"}
				k := r.IntN(len(names))
				emit(t, &ctEv{acct: a, id: id, name: names[k], source: srcs[k] + ".amazonaws.com", srcIP: src, ua: "console.ec2.amazonaws.com", readOnly: true, req: []byte(`{}`)})
			}
		}
	}
}
