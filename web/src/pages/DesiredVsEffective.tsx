import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { SideBySideDiff } from '../components/SideBySideDiff';
import type { Agent } from '../types';
import type { DesiredConfig } from './AgentActions';

/**
 * What the server wants the agent to run against what the agent says it runs, file by file
 * (desired: `GET …/desired-config`; effective: the agent's reported effective config).
 */
export function DesiredVsEffective({ agent }: { agent: Agent }) {
  const uid = agent.metadata.name;
  const q = useQuery({ queryKey: ['desired-config', uid], queryFn: () => api<DesiredConfig>(`/agents/${encodeURIComponent(uid)}/desired-config`) });
  const effective = agent.status.effectiveConfig?.configMap;
  let content;
  if (q.error) content = <ProblemMessage error={q.error} />;
  else if (!q.data) content = <p role="status">Loading…</p>;
  else if (!q.data.assigned) content = <p>No desired config to compare: nothing assigns one to this agent.</p>;
  else if (!effective) content = <p>The agent reported no effective config to compare.</p>;
  else {
    const desired = q.data.configMap ?? {};
    const files = [...new Set([...Object.keys(desired), ...Object.keys(effective)])].sort();
    const same = files.every((f) => desired[f]?.body === effective[f]?.body && desired[f]?.bodyBase64 === effective[f]?.bodyBase64);
    content = same ? (
      <p data-testid="desired-vs-effective">No differences: the agent runs what it should.</p>
    ) : (
      files.map((f) => {
        const d = desired[f];
        const e = effective[f];
        const title = f || '(default file)';
        return (
          <div key={f}>
            <h3>{title}</h3>
            {d?.body === e?.body && d?.bodyBase64 === e?.bodyBase64 ? (
              <p>No differences.</p>
            ) : (d && d.body === undefined) || (e && e.body === undefined) ? (
              <p>Binary file: the contents differ.</p>
            ) : (
              <>
                {!d && <p>Not in the desired config: the agent runs a file the server did not send.</p>}
                {!e && <p>Not in the effective config: the agent does not report this file.</p>}
                <SideBySideDiff
                  label={`Desired vs effective ${f || 'default file'}`}
                  a={d?.body ?? ''}
                  b={e?.body ?? ''}
                  aLabel="Desired"
                  bLabel="Effective"
                  contentType={d?.contentType ?? e?.contentType}
                />
              </>
            )}
          </div>
        );
      })
    );
  }
  return (
    <section aria-labelledby="h-dve">
      <h2 id="h-dve">Desired vs effective</h2>
      {content}
    </section>
  );
}
