// Modal asking for the admin token (native <dialog>: focus is trapped and Escape cancels).
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { TokenPrompt } from '../use-admin.js';

export function TokenDialog({ prompt, onCancel }: { prompt: TokenPrompt | null; onCancel(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [token, setToken] = useState('');
  const inputId = useId();
  const reasonId = useId();

  useEffect(() => {
    const el = dialog.current;
    if (el === null) return;
    if (prompt !== null && !el.open) {
      setToken('');
      el.showModal();
    } else if (prompt === null && el.open) {
      el.close();
    }
  }, [prompt]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    prompt?.submit(token.trim());
  };

  return (
    <dialog
      ref={dialog}
      className="token-dialog"
      aria-labelledby={`${inputId}-title`}
      aria-describedby={reasonId}
      onCancel={(event) => {
        // Escape: let the prompt state close the dialog, so state and dialog never disagree.
        event.preventDefault();
        onCancel();
      }}
    >
      <form onSubmit={submit}>
        <h2 id={`${inputId}-title`}>Admin token</h2>
        <p id={reasonId}>{prompt?.reason}</p>
        <label htmlFor={inputId}>Token</label>
        <input id={inputId} type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        <div className="dialog-buttons">
          <button type="submit" className="primary">
            Use token
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
