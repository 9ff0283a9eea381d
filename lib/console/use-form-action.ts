// A form that submits to a server action and keeps what the user typed when the action refuses
// it: React resets an uncontrolled <form action={…}> after every submission, which would wipe the
// fields next to their inline errors. Submitting from onSubmit (no form action) keeps them.
import { useState, useTransition, type FormEvent } from "react";
import type { ActionResult } from "./action-result";

export function useFormAction<T>(action: (prev: ActionResult<T> | null, form: FormData) => Promise<ActionResult<T>>, onDone?: (value: T) => void) {
  const [state, setState] = useState<ActionResult<T> | null>(null);
  const [pending, start] = useTransition();
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    start(async () => {
      const r = await action(state, form);
      setState(r);
      if (r.ok) onDone?.(r.value);
    });
  };
  return { state, pending, onSubmit };
}
