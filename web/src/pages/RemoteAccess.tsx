/**
 * Analysts and admins: the access gateway at a glance. Its recent decisions with their reasons,
 * the gateway sessions (revocable), and the addresses blocked from the console. Refreshed every 10 s.
 */
import { useCallback, useMemo, useState } from 'react';
import { api } from '../api.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { StatCard } from '../components/StatCard.js';
import { useDocumentTitle } from '../hooks.js';
import type { DecisionKind, SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import { AccessBlocks } from './AccessBlocks.js';
import { AccessDecisions, type UserFilter } from './AccessDecisions.js';
import { AccessSessions } from './AccessSessions.js';

const REFRESH_SECONDS = 10;
const EVERY = REFRESH_SECONDS * 1000;

export function RemoteAccess({ user }: { user: SessionUser }) {
  useDocumentTitle('Remote access');
  const [decision, setDecision] = useState<DecisionKind | ''>('');
  const [who, setWho] = useState<UserFilter>();
  const [limit, setLimit] = useState(100);

  const loadDecisions = useCallback(
    () => api.accessDecisions({ limit, decision: decision || undefined, userId: who?.id }),
    [limit, decision, who],
  );
  const decisions = usePoll(loadDecisions, EVERY, `${decision}|${who?.id ?? ''}|${limit}`);
  const sessions = usePoll(api.accessSessions, EVERY);
  const blocks = usePoll(api.accessBlocks, EVERY);

  // Sessions carry only a user id: name the ones the decisions (or the signed-in user) tell us.
  const names = useMemo(() => {
    const map = new Map<string, string>([[user.id, user.username]]);
    for (const d of decisions.data ?? []) if (d.userId && d.username) map.set(d.userId, d.username);
    return map;
  }, [decisions.data, user.id, user.username]);

  const counts = useMemo(() => {
    const c = { allow: 0, 'step-up': 0, deny: 0, login: 0 } as Record<string, number>;
    for (const d of decisions.data ?? []) c[d.decision] = (c[d.decision] ?? 0) + 1;
    return c;
  }, [decisions.data]);

  const loading = decisions.loading || sessions.loading || blocks.loading;
  const times = [decisions.updatedAt, sessions.updatedAt, blocks.updatedAt];
  const updatedAt = times.every((t) => t !== undefined)
    ? new Date(Math.min(...times.map((t) => t!.getTime())))
    : undefined;
  const refreshAll = () => {
    decisions.refresh();
    sessions.refresh();
    blocks.refresh();
  };
  const shown = decisions.data?.length;
  const scope =
    shown === undefined
      ? undefined
      : shown === 0
        ? 'no decisions yet'
        : shown === 1
          ? 'in the decision below'
          : `in the ${shown} decisions below`;

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Remote access</h1>
          <p className="page-lede">
            Who reached the hospital’s applications from outside, what the gateway decided and why.
          </p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refreshAll}
          everySeconds={REFRESH_SECONDS}
        />
      </header>

      <dl className="stats" data-testid="access-stats">
        <StatCard
          label="Denied"
          value={decisions.data ? counts.deny : undefined}
          detail={scope}
          testId="stat-access-deny"
        />
        <StatCard
          label="Asked for MFA again"
          value={decisions.data ? counts['step-up'] : undefined}
          detail={scope}
          testId="stat-access-step-up"
        />
        <StatCard
          label="Gateway sessions"
          value={sessions.data?.length}
          detail="not revoked"
          testId="stat-access-sessions"
        />
        <StatCard
          label="Blocked"
          value={blocks.data?.length}
          detail="addresses and ranges"
          testId="stat-access-blocks"
        />
      </dl>

      <AccessDecisions
        poll={decisions}
        decision={decision}
        onDecision={setDecision}
        who={who}
        onWho={setWho}
        limit={limit}
        onLimit={setLimit}
      />
      <AccessSessions poll={sessions} names={names} />
      <AccessBlocks poll={blocks} />
    </div>
  );
}
