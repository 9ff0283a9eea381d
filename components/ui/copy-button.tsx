"use client";

// Copies a value (a secret shown once, an id) to the clipboard, and says so to screen readers.
import { useEffect, useState } from "react";
import { Button, type ButtonProps } from "./button";
import { Icon } from "./icon";

export interface CopyButtonProps extends Omit<ButtonProps, "onClick" | "children"> {
  value: string;
  /** The button's label; its accessible name is "{label}" then "Copied". */
  label?: string;
}

export function CopyButton({ value, label = "Copy", size = "sm", ...rest }: CopyButtonProps) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <>
      <Button
        size={size}
        onClick={() => {
          navigator.clipboard.writeText(value).then(
            () => setState("copied"),
            () => setState("failed"),
          );
        }}
        {...rest}
      >
        <Icon name={state === "copied" ? "check-circle" : "key"} />
        {/* Both labels occupy the button, so its width never jumps. */}
        <span className="grid">
          <span className={state === "idle" ? "[grid-area:1/1]" : "invisible [grid-area:1/1]"}>{label}</span>
          <span className={state === "idle" ? "invisible [grid-area:1/1]" : "[grid-area:1/1]"} aria-hidden={state === "idle"}>
            {state === "failed" ? "Copy failed" : "Copied"}
          </span>
        </span>
      </Button>
      <span role="status" className="sr-only">
        {state === "copied" ? "Copied to the clipboard" : state === "failed" ? "Could not copy; select the text and copy it" : ""}
      </span>
    </>
  );
}
