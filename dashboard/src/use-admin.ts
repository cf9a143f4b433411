// Admin actions for the views: runs a call with the tab's token, asks for the token on 401, reports outcomes as notices.
import { useCallback, useRef, useState } from 'react';
import { loadAdminToken, saveAdminToken, type AdminResult } from './api/admin.js';

export interface Notice {
  id: number;
  tone: 'ok' | 'error';
  text: string;
}

export interface TokenPrompt {
  reason: string;
  /** Called with the token the operator typed (already saved). */
  submit(token: string): void;
}

export interface AdminAction {
  /** Identifies the action while it runs (e.g. `drain:srv-1a2b3c`), to disable its button. */
  key: string;
  /** `Spawn`, `Drain srv-1a2b3c`, ...: the start of the notice. */
  label: string;
  call(token: string): Promise<AdminResult>;
  /** The success notice, from the answer's body. */
  done(body: unknown): string;
}

const MAX_NOTICES = 5;

export interface Admin {
  notices: Notice[];
  dismiss(id: number): void;
  busy: ReadonlySet<string>;
  prompt: TokenPrompt | null;
  cancelPrompt(): void;
  askToken(): void;
  run(action: AdminAction): void;
}

/** State and runner for spawn/drain/redistribute; notices are capped so a long session stays small. */
export function useAdmin(): Admin {
  const [notices, setNotices] = useState<Notice[]>([]);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [prompt, setPrompt] = useState<TokenPrompt | null>(null);
  const seq = useRef(0);

  const notify = useCallback((tone: Notice['tone'], text: string) => {
    seq.current++;
    const id = seq.current;
    setNotices((list) => [...list.slice(-(MAX_NOTICES - 1)), { id, tone, text }]);
  }, []);

  const setBusyKey = useCallback((key: string, on: boolean) => {
    setBusy((prev) => {
      const next = new Set(prev);
      if (on) next.add(key);
      else next.delete(key);
      return next;
    });
  }, []);

  const run = useCallback(
    (action: AdminAction, token: string = loadAdminToken()): void => {
      setBusyKey(action.key, true);
      action
        .call(token)
        .then((result) => {
          setBusyKey(action.key, false);
          if (result.ok) {
            notify('ok', action.done(result.body));
            return;
          }
          if (result.failure.status === 401) {
            saveAdminToken('');
            setPrompt({
              reason:
                token === ''
                  ? `${action.label} needs the balancer's admin token (ADMIN_TOKEN).`
                  : `${action.label}: the balancer refused that token. ${result.failure.text}`,
              submit: (typed) => {
                saveAdminToken(typed);
                setPrompt(null);
                run(action, typed);
              },
            });
            return;
          }
          notify('error', `${action.label} failed: ${result.failure.text}`);
        })
        .catch((error: unknown) => {
          setBusyKey(action.key, false);
          notify('error', `${action.label} failed: ${error instanceof Error ? error.message : String(error)}`);
        });
    },
    [notify, setBusyKey],
  );

  return {
    notices,
    dismiss: (id) => setNotices((list) => list.filter((n) => n.id !== id)),
    busy,
    prompt,
    cancelPrompt: () => setPrompt(null),
    askToken: () =>
      setPrompt({
        reason: 'The admin token is kept for this tab only (sessionStorage). Leave it empty to forget it.',
        submit: (typed) => {
          saveAdminToken(typed);
          setPrompt(null);
          notify('ok', typed === '' ? 'Admin token forgotten.' : 'Admin token saved for this tab.');
        },
      }),
    run,
  };
}
