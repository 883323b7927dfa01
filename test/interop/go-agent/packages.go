package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// memPackages is the PackagesStateProvider the library needs before it will
// accept packages. It keeps everything in memory (it outlives a simulated
// restart, like a disk would) and checks the downloaded bytes against the
// offered content_hash, so a server that advertises a wrong hash gets an
// InstallFailed status back.
type memPackages struct {
	mu       sync.Mutex
	allHash  []byte
	pkgs     map[string]*memPackage
	statuses *protobufs.PackageStatuses
}

type memPackage struct {
	state       types.PackageState
	content     []byte
	contentHash []byte
}

var _ types.PackagesStateProvider = (*memPackages)(nil)

func newMemPackages() *memPackages { return &memPackages{pkgs: map[string]*memPackage{}} }

func (p *memPackages) AllPackagesHash() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allHash, nil
}

func (p *memPackages) SetAllPackagesHash(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allHash = hash
	return nil
}

func (p *memPackages) Packages() ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.pkgs))
	for n := range p.pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (p *memPackages) PackageState(name string) (types.PackageState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pkg, ok := p.pkgs[name]; ok {
		// The syncer writes back the state it read before creating the package
		// (Exists false); a package that is here exists.
		st := pkg.state
		st.Exists = true
		return st, nil
	}
	return types.PackageState{Exists: false}, nil
}

func (p *memPackages) SetPackageState(name string, state types.PackageState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pkg, ok := p.pkgs[name]
	if !ok {
		return fmt.Errorf("package %q does not exist", name)
	}
	pkg.state = state
	return nil
}

func (p *memPackages) CreatePackage(name string, typ protobufs.PackageType) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pkgs[name]; ok {
		return fmt.Errorf("package %q already exists", name)
	}
	p.pkgs[name] = &memPackage{state: types.PackageState{Exists: true, Type: typ}}
	return nil
}

func (p *memPackages) FileContentHash(name string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pkg, ok := p.pkgs[name]; ok {
		return pkg.contentHash, nil
	}
	return nil, nil
}

func (p *memPackages) UpdateContent(ctx context.Context, name string, data io.Reader, contentHash, _ []byte) error {
	b, err := io.ReadAll(data)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if len(contentHash) > 0 && !bytes.Equal(sum[:], contentHash) {
		return fmt.Errorf("content hash mismatch: offered %x, downloaded bytes hash to %x", contentHash, sum)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pkg, ok := p.pkgs[name]
	if !ok {
		return fmt.Errorf("package %q does not exist", name)
	}
	pkg.content, pkg.contentHash = b, contentHash
	return nil
}

func (p *memPackages) DeletePackage(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pkgs, name)
	return nil
}

func (p *memPackages) LastReportedStatuses() (*protobufs.PackageStatuses, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.statuses == nil {
		return nil, nil
	}
	return proto.Clone(p.statuses).(*protobufs.PackageStatuses), nil
}

func (p *memPackages) SetLastReportedStatuses(s *protobufs.PackageStatuses) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statuses = proto.Clone(s).(*protobufs.PackageStatuses)
	return nil
}

// statusesJSON summarises the last reported package statuses for the event stream.
func (p *memPackages) statusesJSON() fields {
	s, _ := p.LastReportedStatuses()
	pkgs := fields{}
	for name, st := range s.GetPackages() {
		pkgs[name] = fields{"status": enumName(st.GetStatus().String()), "agentHasVersion": st.GetAgentHasVersion(),
			"agentHasHash": fmt.Sprintf("%x", st.GetAgentHasHash()), "errorMessage": st.GetErrorMessage()}
	}
	return fields{"serverProvidedAllPackagesHash": fmt.Sprintf("%x", s.GetServerProvidedAllPackagesHash()),
		"errorMessage": s.GetErrorMessage(), "packages": pkgs}
}
