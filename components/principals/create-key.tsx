"use client";

// Creates a service-account key and hands its JSON key file to the browser as a download at once:
// the private key is never put in React state or the page, and is gone when the handler returns.
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { createServiceAccountKeyAction } from "@/app/(console)/principals/actions";
import { Alert, LiveRegion } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";

function download(name: string, json: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(json, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

export function CreateKeyButton({ email }: { email: string }) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [state, setState] = useState<{ created?: string; error?: string }>({});
  const [pending, start] = useTransition();
  const create = () =>
    start(async () => {
      const r = await createServiceAccountKeyAction(email);
      if (!r.ok) {
        setState({ error: r.message });
        return;
      }
      const file = `${r.value.project_id}-${r.value.private_key_id.slice(0, 12)}.json`;
      download(file, r.value);
      setState({ created: file });
    });
  const close = () => {
    setOpen(false);
    if (state.created) router.refresh();
    setState({});
  };
  return (
    <>
      <Button variant="primary" size="sm" onClick={() => setOpen(true)}>
        Create key
      </Button>
      {/* The dialog sits where its button is (a right-aligned, no-wrap table cell…): it must not inherit that. */}
      <div className="contents text-left whitespace-normal [overflow-wrap:anywhere]">
        <Dialog
          open={open}
          onClose={close}
          title="Create a JSON key"
          description={`A key lets whoever holds it act as ${email}.`}
          size="sm"
          footer={
            state.created ? (
              <Button variant="primary" onClick={close}>
                Done
              </Button>
            ) : (
              <>
                <Button onClick={close} disabled={pending}>
                  Cancel
                </Button>
                <Button variant="primary" onClick={create} loading={pending}>
                  Create and download
                </Button>
              </>
            )
          }
        >
          <LiveRegion className="space-y-3 text-sm">
            {state.created ? (
              <Alert tone="success">
                The key file was downloaded as <strong>{state.created}</strong>. It is the only copy of the private key — Gatehouse keeps only the public key. Store it safely.
              </Alert>
            ) : (
              <p>The JSON key file downloads once, in the shape of a Google service-account key. It cannot be downloaded again later.</p>
            )}
            {state.error ? <Alert tone="error">{state.error}</Alert> : null}
          </LiveRegion>
        </Dialog>
      </div>
    </>
  );
}
