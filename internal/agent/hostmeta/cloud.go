// Package hostmeta describes the host the agent runs on: its identity
// (agent_id, hostname, OS, kernel, addresses), the cloud instance it is
// (the instance metadata service) and the containers its processes run in.
package hostmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// IMDSv2 defaults.
const (
	DefaultIMDS        = "http://169.254.169.254"
	DefaultIMDSTimeout = time.Second
	imdsTokenTTL       = "21600"
	maxIMDSBody        = 64 << 10
)

// ErrCloudOff is returned when the lookup is turned off.
var ErrCloudOff = errors.New("cloud metadata lookup is off")

// CloudOptions configures Cloud.
type CloudOptions struct {
	// Off turns the lookup off (Cloud returns ErrCloudOff at once).
	Off bool
	// BaseURL is the metadata service; "": DefaultIMDS (tests point it at a
	// local server).
	BaseURL string
	// Timeout bounds each request; 0: DefaultIMDSTimeout. Off EC2 the
	// first request fails within it, so a host that is no cloud instance
	// waits about that long once.
	Timeout time.Duration
	// Client makes the requests; nil: a client that ignores proxies (the
	// service is link-local and must not be asked through a proxy).
	Client *http.Client
}

// CloudInfo is what the instance metadata service says of this host.
type CloudInfo struct {
	Provider         string `json:"cloud_provider"`
	InstanceID       string `json:"instance_id"`
	InstanceType     string `json:"instance_type"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availability_zone"`
	AccountID        string `json:"account_id"`
	ImageID          string `json:"image_id"`
	PrivateIP        string `json:"private_ip"`
	PublicIP         string `json:"public_ip"`
}

// Fields returns the host_metadata keys of the known values
// (cloud_provider, instance_id, instance_type, region, availability_zone,
// account_id, image_id, private_ip, public_ip).
func (c CloudInfo) Fields() map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"cloud_provider": c.Provider, "instance_id": c.InstanceID,
		"instance_type": c.InstanceType, "region": c.Region, "availability_zone": c.AvailabilityZone,
		"account_id": c.AccountID, "image_id": c.ImageID, "private_ip": c.PrivateIP, "public_ip": c.PublicIP} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// Cloud asks the EC2 instance metadata service, version 2 only (a session
// token first, then the token on every read), for the instance's id,
// type, region, zone, account and image. An error means this is no EC2
// instance, or its metadata service is unreachable (containers with the
// default hop limit of 1); the agent then reports no cloud fields.
func Cloud(ctx context.Context, opts CloudOptions) (CloudInfo, error) {
	if opts.Off {
		return CloudInfo{}, ErrCloudOff
	}
	m := imds{base: strings.TrimRight(opts.BaseURL, "/"), timeout: opts.Timeout, client: opts.Client}
	if m.base == "" {
		m.base = DefaultIMDS
	}
	if m.timeout <= 0 {
		m.timeout = DefaultIMDSTimeout
	}
	if m.client == nil {
		m.client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	token, err := m.token(ctx)
	if err != nil {
		return CloudInfo{}, err
	}
	info := CloudInfo{Provider: "aws"}
	for _, f := range []struct {
		path     string
		dst      *string
		required bool
	}{
		{"/latest/meta-data/instance-id", &info.InstanceID, true},
		{"/latest/meta-data/instance-type", &info.InstanceType, false},
		{"/latest/meta-data/placement/region", &info.Region, false},
		{"/latest/meta-data/placement/availability-zone", &info.AvailabilityZone, false},
		{"/latest/meta-data/local-ipv4", &info.PrivateIP, false},
		{"/latest/meta-data/public-ipv4", &info.PublicIP, false}, // 404 without one
	} {
		b, err := m.get(ctx, token, f.path)
		if err != nil {
			if f.required {
				return CloudInfo{}, err
			}
			continue
		}
		*f.dst = strings.TrimSpace(string(b))
	}
	// The account is only in the identity document.
	if b, err := m.get(ctx, token, "/latest/dynamic/instance-identity/document"); err == nil {
		var doc struct {
			AccountID        string `json:"accountId"`
			ImageID          string `json:"imageId"`
			Region           string `json:"region"`
			InstanceType     string `json:"instanceType"`
			AvailabilityZone string `json:"availabilityZone"`
		}
		if json.Unmarshal(b, &doc) == nil {
			info.AccountID, info.ImageID = doc.AccountID, doc.ImageID
			fill(&info.Region, doc.Region)
			fill(&info.InstanceType, doc.InstanceType)
			fill(&info.AvailabilityZone, doc.AvailabilityZone)
		}
	}
	return info, nil
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

type imds struct {
	base    string
	timeout time.Duration
	client  *http.Client
}

func (m *imds) token(ctx context.Context) (string, error) {
	b, err := m.do(ctx, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": imdsTokenTTL})
	if err != nil {
		return "", fmt.Errorf("imds token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (m *imds) get(ctx context.Context, token, path string) ([]byte, error) {
	return m.do(ctx, http.MethodGet, path, map[string]string{"X-aws-ec2-metadata-token": token})
}

func (m *imds) do(ctx context.Context, method, path string, header map[string]string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIMDSBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("imds %s %s: %s", method, path, resp.Status)
	}
	return b, nil
}
