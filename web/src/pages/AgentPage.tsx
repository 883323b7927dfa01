import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { CodeView } from '../components/CodeEditor';
import { ProblemMessage } from '../components/ProblemMessage';
import { AgentHistory, AvailableComponentsView, ConfigAssignment, PackagesView } from './AgentSections';
import { healthWord, originText, when } from '../format';
import type { Agent, HealthView } from '../types';
import { AgentCommands, DesiredConfigView, LabelsEditor } from './AgentActions';
import { DesiredVsEffective } from './DesiredVsEffective';
import { AgentTelemetrySection, ConditionBadges } from './AgentTelemetry';

function Attributes({ title, values }: { title: string; values: Record<string, unknown> | undefined }) {
  const entries = Object.entries(values ?? {});
  return (
    <section aria-labelledby={`h-${title}`}>
      <h2 id={`h-${title}`}>{title}</h2>
      {entries.length === 0 ? (
        <p>None.</p>
      ) : (
        <dl className="kv">
          {entries.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** The component health tree, unhealthy components first. */
function HealthTree({ name, health }: { name: string; health: HealthView }) {
  const children = Object.entries(health.components ?? {}).sort(
    ([a, x], [b, y]) => Number(x.healthy ?? true) - Number(y.healthy ?? true) || a.localeCompare(b),
  );
  const label = (
    <>
      <span className={`badge ${health.healthy ? 'ok' : 'bad'}`}>{healthWord(health.healthy)}</span> {name}
      {health.status ? ` — ${health.status}` : ''}
      {health.lastError ? <span className="error-text"> ({health.lastError})</span> : null}
    </>
  );
  if (!children.length) return <li>{label}</li>;
  return (
    <li>
      <details open={!health.healthy || name === 'agent'}>
        <summary>{label}</summary>
        <ul>
          {children.map(([n, h]) => (
            <HealthTree key={n} name={n} health={h} />
          ))}
        </ul>
      </details>
    </li>
  );
}

function EffectiveConfig({ agent }: { agent: Agent }) {
  const files = Object.entries(agent.status.effectiveConfig?.configMap ?? {});
  const [tab, setTab] = useState(0);
  if (!files.length) return <p>The agent reported no effective config.</p>;
  const [name, file] = files[Math.min(tab, files.length - 1)];
  return (
    <>
      {files.length > 1 && (
        <div role="tablist" aria-label="Config files">
          {files.map(([name], i) => (
            <button key={name} type="button" role="tab" aria-selected={i === tab} onClick={() => setTab(i)}>
              {name || '(default)'}
            </button>
          ))}
        </div>
      )}
      {file.body !== undefined ? (
        <CodeView
          key={name}
          label={files.length > 1 ? `Effective config ${name || 'default file'}` : 'Effective config'}
          value={file.body}
          contentType={file.contentType}
        />
      ) : (
        <p>(binary, {file.bodyBase64?.length ?? 0} base64 characters)</p>
      )}
    </>
  );
}

export function AgentPage() {
  const { uid = '' } = useParams();
  const q = useQuery({ queryKey: ['agent', uid], queryFn: () => api<Agent>(`/agents/${encodeURIComponent(uid)}`) });
  if (q.error) return <ProblemMessage error={q.error} />;
  if (!q.data) return <p role="status">Loading…</p>;
  const a = q.data;
  const c = a.status.connection;
  const id = a.status.description?.identifyingAttributes;
  const rcs = a.status.remoteConfigStatus;
  return (
    <>
      <p>
        <Link to="/agents">Agents</Link> /
      </p>
      <h1>
        {String(id?.['service.name'] ?? 'Agent')} <code className="uid">{a.metadata.name}</code>
      </h1>
      <ConditionBadges agent={a} />
      <AgentCommands agent={a} />
      <div className="cards">
        <section aria-labelledby="h-conn">
          <h2 id="h-conn">Connection</h2>
          <dl className="kv">
            <div>
              <dt>State</dt>
              <dd data-testid="connection-state">{a.status.connected ? 'connected' : 'disconnected'}</dd>
            </div>
            <div>
              <dt>Transport</dt>
              <dd>{c.transport ?? '—'}</dd>
            </div>
            <div>
              <dt>Address</dt>
              <dd>{c.remoteAddress ?? '—'}</dd>
            </div>
            <div>
              <dt>Replica</dt>
              <dd>{c.replica ?? '—'}</dd>
            </div>
            <div>
              <dt>Connected since</dt>
              <dd>{when(c.connectedAt)}</dd>
            </div>
            <div>
              <dt>Last seen</dt>
              <dd>{when(c.lastSeenAt)}</dd>
            </div>
          </dl>
        </section>
        <section aria-labelledby="h-rc">
          <h2 id="h-rc">Remote config</h2>
          <dl className="kv">
            <div>
              <dt>Delivery</dt>
              <dd data-testid="remote-config-state">{a.status.remoteConfig?.state ?? 'none'}</dd>
            </div>
            <div>
              <dt>Origin</dt>
              <dd>{originText(a.status.remoteConfig?.origin)}</dd>
            </div>
            <div>
              <dt>Agent reports</dt>
              <dd>{rcs?.status ?? '—'}</dd>
            </div>
            {rcs?.errorMessage && (
              <div>
                <dt>Error</dt>
                <dd className="error-text">{rcs.errorMessage}</dd>
              </div>
            )}
          </dl>
        </section>
        <ConnectionSettingsCard agent={a} />
        <section aria-labelledby="h-caps">
          <h2 id="h-caps">Capabilities</h2>
          <ul className="caps">
            {a.status.capabilities.names.map((n) => (
              <li key={n}>{n.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}</li>
            ))}
          </ul>
        </section>
      </div>
      <AgentTelemetrySection agent={a} />
      <Attributes title="Identifying attributes" values={id} />
      <Attributes title="Non-identifying attributes" values={a.status.description?.nonIdentifyingAttributes} />
      <LabelsEditor agent={a} />
      <section aria-labelledby="h-health">
        <h2 id="h-health">Health</h2>
        {a.status.health ? (
          <ul className="tree">
            <HealthTree name="agent" health={a.status.health} />
          </ul>
        ) : (
          <p>The agent reported no health.</p>
        )}
      </section>
      <section aria-labelledby="h-eff">
        <h2 id="h-eff">Effective config</h2>
        <EffectiveConfig agent={a} />
      </section>
      <section aria-labelledby="h-desired">
        <h2 id="h-desired">Desired config</h2>
        <DesiredConfigView uid={a.metadata.name} />
      </section>
      <DesiredVsEffective agent={a} />
      <ConfigAssignment key={JSON.stringify(a.spec.assignedConfig ?? null)} agent={a} />
      <section aria-labelledby="h-components">
        <h2 id="h-components">Available components</h2>
        <AvailableComponentsView uid={a.metadata.name} />
      </section>
      <PackagesView agent={a} />
      <AgentHistory uid={a.metadata.name} />
    </>
  );
}

/** What connection settings were offered and what the agent says it did with them (ConnectionSettingsStatus). */
function ConnectionSettingsCard({ agent }: { agent: Agent }) {
  const offer = agent.status.connectionSettingsOffer;
  const st = agent.status.connectionSettingsStatus;
  if (!offer && !st) return null;
  const reported = st ? `${st.status}${st.current === false ? ' (for an earlier offer)' : ''}` : 'nothing reported';
  return (
    <section aria-labelledby="h-cs">
      <h2 id="h-cs">Connection settings</h2>
      <dl className="kv">
        <div>
          <dt>Offered</dt>
          <dd>{offer ? <code title={offer.lastSentHash}>{offer.lastSentHash.slice(0, 12)}</code> : '—'}</dd>
        </div>
        <div>
          <dt>Offered at</dt>
          <dd>{when(offer?.lastSentAt)}</dd>
        </div>
        <div>
          <dt>Agent reports</dt>
          <dd data-testid="connection-settings-status">{reported}</dd>
        </div>
        {st?.errorMessage && (
          <div>
            <dt>Error</dt>
            <dd className="error-text">{st.errorMessage}</dd>
          </div>
        )}
      </dl>
    </section>
  );
}
