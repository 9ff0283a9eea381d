"use client";

// IAP on/off for one web resource. Turning it off asks first and says what that means; turning it
// on the first time creates the resource's OAuth client, whose secret is shown once, here.
import { useState, useTransition } from "react";
import { setIapAction, type IapToggleResult } from "@/app/(console)/iap/actions";
import { Button } from "@/components/ui/button";
import { Code } from "@/components/ui/code";
import { cn } from "@/components/ui/cn";
import { ConfirmDialog, Dialog } from "@/components/ui/dialog";

export function IapToggle({ resource, label, enabled, onChanged }: { resource: string; label: string; enabled: boolean; onChanged: () => void }) {
  const [confirmOff, setConfirmOff] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<IapToggleResult["oauthClient"] | null>(null);
  const [optimistic, setOptimistic] = useState<boolean | null>(null);
  const [pending, start] = useTransition();
  const on = optimistic ?? enabled;

  const set = (next: boolean) =>
    start(async () => {
      setError(null);
      const r = await setIapAction(resource, next);
      if (!r.ok) {
        setError(r.message);
        return;
      }
      setConfirmOff(false);
      setOptimistic(r.value.iapEnabled);
      if (r.value.oauthClient) setSecret(r.value.oauthClient);
      onChanged();
    });

  return (
    <>
      <button
        type="button"
        role="switch"
        aria-checked={on}
        aria-label={`IAP for ${label}`}
        aria-busy={pending || undefined}
        disabled={pending}
        onClick={() => (on ? setConfirmOff(true) : set(true))}
        className={cn(
          "relative inline-flex h-5 w-9 shrink-0 items-center rounded-full border transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-focus disabled:cursor-progress",
          on ? "border-success-fg bg-success-fg" : "border-border-strong bg-surface-2",
        )}
      >
        <span aria-hidden="true" className={cn("inline-block size-3.5 rounded-full bg-white shadow transition-transform", on ? "translate-x-4" : "translate-x-0.5")} />
      </button>
      {error && !confirmOff ? (
        <span role="alert" className="mt-1 block text-xs text-danger-fg">
          {error}
        </span>
      ) : null}
      <ConfirmDialog
        open={confirmOff}
        onClose={() => {
          setConfirmOff(false);
          setError(null);
        }}
        onConfirm={() => set(false)}
        pending={pending}
        error={error}
        title="Turn off IAP?"
        confirmLabel="Turn off IAP"
      >
        <p>
          <strong>{label}</strong> will no longer be protected by Gatehouse. Every request for it is answered <Code>IAP_DISABLED</Code>: proxies in
          front of it refuse everyone — its IAM bindings no longer let anybody through — unless a proxy is set up to pass such traffic without an
          identity check.
        </p>
        <p className="text-fg-muted">Its IAM bindings are kept and apply again when IAP is turned back on.</p>
      </ConfirmDialog>
      <Dialog
        open={secret !== null}
        onClose={() => setSecret(null)}
        title="IAP is on — copy the OAuth client secret now"
        description="This secret is shown only once. Gatehouse keeps it sealed and will not display it again."
        footer={
          <Button variant="primary" onClick={() => setSecret(null)}>
            Done
          </Button>
        }
      >
        {secret ? (
          <dl className="space-y-3 text-sm">
            <div>
              <dt className="text-xs font-medium text-fg-muted">Client ID</dt>
              <dd className="font-mono text-xs break-all">{secret.clientId}</dd>
            </div>
            <div>
              <dt className="text-xs font-medium text-fg-muted">Client secret</dt>
              <dd>
                <input readOnly aria-label="Client secret" value={secret.clientSecret} onFocus={(e) => e.currentTarget.select()} className="w-full rounded-md border border-border bg-surface-2 px-2 py-1 font-mono text-xs" />
              </dd>
            </div>
          </dl>
        ) : null}
      </Dialog>
    </>
  );
}
