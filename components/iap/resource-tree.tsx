"use client";

import { Fragment, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { TreeNode } from "@/lib/console/tree";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Icon } from "@/components/ui/icon";
import { inputClasses } from "@/components/ui/input";
import { Kbd } from "@/components/ui/kbd";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { IapToggle } from "./iap-toggle";
import { CONTAINER_KINDS, KIND_META, WEB_KINDS } from "./kinds";

/** Beyond this many rows the tree starts with its projects collapsed (50 projects × 100 resources stay light). */
const EXPANDED_LIMIT = 500;

/** Indentation per tree level; guides sit under the chevron (0.75rem = half its 1.5rem box). */
const INDENT_REM = 1.125;

interface Row {
  node: TreeNode;
  depth: number;
  /** Names of all ancestors, root first. */
  ancestors: string[];
}

function flatten(roots: readonly TreeNode[]): Row[] {
  const rows: Row[] = [];
  const walk = (nodes: readonly TreeNode[], depth: number, ancestors: string[]) => {
    for (const node of nodes) {
      rows.push({ node, depth, ancestors });
      if (node.children.length > 0) walk(node.children, depth + 1, [...ancestors, node.name]);
    }
  };
  walk(roots, 0, []);
  return rows;
}

function matches(node: TreeNode, q: string): boolean {
  return (
    node.name.toLowerCase().includes(q) ||
    node.displayName.toLowerCase().includes(q) ||
    KIND_META[node.kind].label.toLowerCase().includes(q) ||
    node.hosts.some((h) => h.toLowerCase().includes(q)) ||
    (node.pathPrefix?.toLowerCase().includes(q) ?? false)
  );
}

/**
 * The IAP panel's resource table: organization → folders → projects → resources, with
 * expand/collapse (buttons with aria-expanded; ←/→ on a toggle also collapse/expand) and a filter
 * on name, display name, kind and host. "/" focuses the filter; Escape clears it.
 * Filtering shows each match with its ancestors (for context) and its whole subtree.
 */
export interface TreeSelection {
  selected: ReadonlySet<string>;
  /** Checkbox: add or remove one resource. */
  onToggle: (name: string, checked: boolean) => void;
  /** The resource's name: select it alone. */
  onOnly: (name: string) => void;
  /** After an IAP switch changed: re-read the page. */
  onChanged: () => void;
}

export function ResourceTree({ roots, selection }: { roots: TreeNode[]; selection: TreeSelection }) {
  const rows = useMemo(() => flatten(roots), [roots]);
  const [query, setQuery] = useState("");
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() =>
    rows.length > EXPANDED_LIMIT ? new Set(rows.filter((r) => r.node.kind === "project" && r.node.children.length > 0).map((r) => r.node.name)) : new Set(),
  );
  const filterRef = useRef<HTMLInputElement>(null);
  const q = query.trim().toLowerCase();

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== "/" || e.metaKey || e.ctrlKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
      e.preventDefault();
      filterRef.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  // Rows are in pre-order, so every ancestor is decided before its descendants.
  const matchedNames = useMemo(() => {
    if (!q) return null;
    const self = new Set<string>();
    const show = new Set<string>();
    for (const { node, ancestors } of rows) {
      if (matches(node, q)) self.add(node.name);
      if (self.has(node.name) || ancestors.some((a) => self.has(a))) {
        show.add(node.name);
        for (const a of ancestors) show.add(a);
      }
    }
    return show;
  }, [q, rows]);

  const visible = rows.filter((r) => {
    if (matchedNames && !matchedNames.has(r.node.name)) return false;
    return !r.ancestors.some((a) => collapsed.has(a));
  });
  const matchCount = q ? rows.filter((r) => matches(r.node, q)).length : 0;
  const expandable = rows.filter((r) => r.node.children.length > 0).map((r) => r.node.name);

  const setNode = (name: string, open: boolean) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (open) next.delete(name);
      else next.add(name);
      return next;
    });

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        <div className="relative w-full max-w-sm">
          <label htmlFor="resource-filter" className="sr-only">
            Filter resources by name or host
          </label>
          <Icon
            name="search"
            className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-fg-subtle"
          />
          <input
            ref={filterRef}
            id="resource-filter"
            type="search"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setCollapsed(new Set());
            }}
            onKeyDown={(e) => {
              if (e.key === "Escape" && query) {
                e.preventDefault();
                setQuery("");
              }
            }}
            placeholder="Filter by name or host"
            autoComplete="off"
            spellCheck={false}
            aria-describedby="resource-filter-status"
            className={cn(inputClasses, "pr-9 pl-8 [&::-webkit-search-cancel-button]:hidden")}
          />
          {query ? (
            <button
              type="button"
              onClick={() => {
                setQuery("");
                filterRef.current?.focus();
              }}
              className="absolute top-1/2 right-1.5 flex size-6 -translate-y-1/2 items-center justify-center rounded text-fg-subtle hover:bg-surface-hover hover:text-fg"
              aria-label="Clear filter"
            >
              <Icon name="x" className="size-3.5" />
            </button>
          ) : (
            <Kbd className="pointer-events-none absolute top-1/2 right-2 -translate-y-1/2" aria-hidden="true">
              /
            </Kbd>
          )}
        </div>
        <p id="resource-filter-status" aria-live="polite" className="text-xs text-fg-subtle">
          {q ? (matchCount === 1 ? "1 match" : `${matchCount} matches`) : null}
        </p>
        <div className="ml-auto flex items-center gap-1">
          <Button variant="ghost" size="sm" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
            Expand all
          </Button>
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              setQuery("");
              setCollapsed(new Set(expandable));
            }}
            disabled={expandable.length > 0 && collapsed.size === expandable.length}
          >
            Collapse all
          </Button>
        </div>
      </div>

      <Table aria-label="Resources and their IAP status" className="min-w-[44rem] table-fixed">
        <colgroup>
          <col className="w-10" />
          <col />
          <col className="w-32" />
          <col className="w-24" />
          <col className="w-[22%]" />
        </colgroup>
        <TableHead>
          <tr>
            <TableHeaderCell>
              <span className="sr-only">Selected</span>
            </TableHeaderCell>
            <TableHeaderCell>Resource</TableHeaderCell>
            <TableHeaderCell>Type</TableHeaderCell>
            <TableHeaderCell>IAP</TableHeaderCell>
            <TableHeaderCell>Hosts</TableHeaderCell>
          </tr>
        </TableHead>
        <TableBody>
          {visible.length === 0 ? (
            <tr>
              <td colSpan={5} className="px-4 py-10 text-center text-sm text-fg-muted">
                No resources match <span className="font-medium text-fg">“{query.trim()}”</span>.{" "}
                <button
                  type="button"
                  className="font-medium text-accent underline-offset-2 hover:underline"
                  onClick={() => {
                    setQuery("");
                    filterRef.current?.focus();
                  }}
                >
                  Clear filter
                </button>
              </td>
            </tr>
          ) : (
            visible.map((row) => (
              <TreeRow
                key={row.node.name}
                row={row}
                expanded={!collapsed.has(row.node.name)}
                onToggle={(open) => setNode(row.node.name, open)}
                selection={selection}
              />
            ))
          )}
        </TableBody>
      </Table>
    </div>
  );
}

function TreeRow({ row, expanded, onToggle, selection }: { row: Row; expanded: boolean; onToggle: (open: boolean) => void; selection: TreeSelection }) {
  const { node, depth } = row;
  const label = node.displayName || node.name.slice(node.name.lastIndexOf("/") + 1);
  const selected = selection.selected.has(node.name);
  const meta = KIND_META[node.kind];
  const container = CONTAINER_KINDS.has(node.kind);
  const hasChildren = node.children.length > 0;

  const onKeyDown = (e: KeyboardEvent<HTMLButtonElement>) => {
    if (e.key === "ArrowRight" && !expanded) {
      e.preventDefault();
      onToggle(true);
    } else if (e.key === "ArrowLeft" && expanded) {
      e.preventDefault();
      onToggle(false);
    }
  };

  return (
    <TableRow className={cn(node.kind === "organization" && "bg-surface-2/50", selected && "bg-accent-soft/60")}>
      <TableCell className="py-1.5 pr-0">
        <input
          type="checkbox"
          className="size-4 accent-accent"
          checked={selected}
          onChange={(e) => selection.onToggle(node.name, e.target.checked)}
          aria-label={`Select ${label} (${node.name})`}
        />
      </TableCell>
      <TableCell className="relative py-1.5">
        {/* Indent guides: one faint line per ancestor level, centred under that level's chevron. */}
        {Array.from({ length: depth }, (_, i) => (
          <span
            key={i}
            aria-hidden="true"
            className="absolute inset-y-0 w-px bg-border"
            style={{ left: `calc(1rem + ${i * INDENT_REM + 0.75}rem - 0.5px)` }}
          />
        ))}
        <div className="flex items-center gap-1.5" style={{ paddingLeft: `${depth * INDENT_REM}rem` }}>
          {hasChildren ? (
            <button
              type="button"
              aria-expanded={expanded}
              aria-label={`${node.displayName} (${meta.label.toLowerCase()})`}
              onClick={() => onToggle(!expanded)}
              onKeyDown={onKeyDown}
              className="flex size-6 shrink-0 items-center justify-center rounded text-fg-subtle hover:bg-surface-hover hover:text-fg"
            >
              <Icon name="chevron-right" className={cn("size-4 transition-transform", expanded && "rotate-90")} />
            </button>
          ) : (
            <span className="size-6 shrink-0" aria-hidden="true" />
          )}
          <Icon
            name={meta.icon}
            className={cn("size-4", container ? "text-fg-muted" : "text-accent-soft-fg")}
          />
          <div className="min-w-0 py-0.5">
            <button
              type="button"
              onClick={() => selection.onOnly(node.name)}
              className={cn("block max-w-full truncate rounded-sm text-left text-sm text-fg hover:text-accent hover:underline", container ? "font-semibold" : "font-medium")}
              title="Show who may reach it"
            >
              {label}
            </button>
            <div className="font-mono text-xs break-words text-fg-subtle">{breakAtSlashes(node.name)}</div>
          </div>
        </div>
      </TableCell>
      <TableCell className="text-xs text-fg-muted">{meta.label}</TableCell>
      <TableCell>
        {WEB_KINDS.has(node.kind) && node.canToggleIap ? (
          <span className="flex items-center gap-2">
            <IapToggle resource={node.name} label={label} enabled={node.iapEnabled === true} onChanged={selection.onChanged} />
            <span className="text-xs text-fg-muted" aria-hidden="true">
              {node.iapEnabled ? "On" : "Off"}
            </span>
          </span>
        ) : (
          <IapStatus enabled={WEB_KINDS.has(node.kind) ? node.iapEnabled === true : node.iapEnabled} />
        )}
      </TableCell>
      <TableCell>
        <HostChips hosts={node.hosts} pathPrefix={node.pathPrefix} />
      </TableCell>
    </TableRow>
  );
}

/** Lets long resource names wrap after a "/" rather than in the middle of a segment. */
function breakAtSlashes(name: string): ReactNode {
  const parts = name.split("/");
  return parts.map((part, i) => (
    <Fragment key={i}>
      {part}
      {i < parts.length - 1 ? (
        <>
          /<wbr />
        </>
      ) : null}
    </Fragment>
  ));
}

export function IapStatus({ enabled }: { enabled: boolean | null }) {
  if (enabled === null) {
    return (
      <span className="text-fg-subtle">
        <span aria-hidden="true">—</span>
        <span className="sr-only">Not applicable</span>
      </span>
    );
  }
  return enabled ? (
    <Badge tone="success" dot>
      On
    </Badge>
  ) : (
    <Badge tone="neutral" dot>
      Off
    </Badge>
  );
}

const MAX_CHIPS = 3;

function HostChips({ hosts, pathPrefix }: { hosts: string[]; pathPrefix: string | null }) {
  if (hosts.length === 0) {
    return pathPrefix ? <Chip>{pathPrefix}</Chip> : <span className="text-fg-subtle">—</span>;
  }
  const shown = hosts.slice(0, MAX_CHIPS);
  const rest = hosts.slice(MAX_CHIPS);
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Hosts">
      {shown.map((h) => (
        <li key={h}>
          <Chip>
            {h}
            {pathPrefix ? <span className="text-fg-subtle">{pathPrefix}</span> : null}
          </Chip>
        </li>
      ))}
      {rest.length > 0 ? (
        <li>
          <span className="inline-flex h-5 items-center px-1 text-xs text-fg-subtle" title={rest.join(", ")}>
            +{rest.length} more
          </span>
        </li>
      ) : null}
    </ul>
  );
}

function Chip({ children }: { children: ReactNode }) {
  return (
    <span className="inline-flex h-5 max-w-full items-center truncate rounded border border-border bg-surface-2 px-1.5 font-mono text-xs text-fg-muted">
      {children}
    </span>
  );
}
