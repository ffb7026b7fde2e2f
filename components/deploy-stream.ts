"use client";

// The deploy page's live connection: an EventSource on /api/deploys/[id]/events whose events update
// the react-query cache in place. EventSource reconnects by itself and sends Last-Event-ID, so the
// server resumes after the last line the page got. While it is down, the page polls (deploy-view.tsx).
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { appendChunks, lastChunkId, mergeDeployViews, type PushedChunk } from "@/lib/deploy/live-merge";
import type { DeployView } from "@/lib/deploy/views";
import { panelToken } from "./panel-token";

/** connecting: opening; live: events flow; polling: the stream failed, the page polls; ended: all was sent; off: not needed. */
export type StreamMode = "off" | "connecting" | "live" | "polling" | "ended";

export function useDeployStream(id: string, active: boolean): StreamMode {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<StreamMode>("off");
  // A new stream each time the deploy becomes active (a retry of an ended one too); an ended deploy's
  // stream stays open until the server says all was sent (late CloudWatch lines come after the end).
  const [session, setSession] = useState(0);
  const wasActive = useRef(false);
  useEffect(() => {
    if (active && !wasActive.current) setSession((n) => n + 1);
    wasActive.current = active;
  }, [active]);

  useEffect(() => {
    if (session === 0 || typeof EventSource === "undefined") return;
    const key = ["deploy", id];
    const after = lastChunkId(queryClient.getQueryData<DeployView>(key));
    const source = new EventSource(`/api/deploys/${encodeURIComponent(id)}/events?after=${after}&token=${encodeURIComponent(panelToken())}`);
    setMode("connecting");
    source.onopen = () => setMode("live");
    // CONNECTING after an error: the browser retries (with Last-Event-ID); meanwhile the page polls.
    source.onerror = () => setMode("polling");
    source.addEventListener("deploy", (event) => {
      const fresh = JSON.parse((event as MessageEvent<string>).data) as DeployView;
      queryClient.setQueryData<DeployView>(key, (old) => mergeDeployViews(old, fresh, { withOutput: false }));
    });
    source.addEventListener("output", (event) => {
      const { chunks } = JSON.parse((event as MessageEvent<string>).data) as { chunks: PushedChunk[] };
      queryClient.setQueryData<DeployView>(key, (old) => (old ? appendChunks(old, chunks) : old));
    });
    source.addEventListener("end", () => {
      source.close();
      setMode("ended");
    });
    source.addEventListener("gone", () => {
      source.close();
      setMode("polling");
    });
    return () => source.close();
  }, [id, session, queryClient]);

  return mode;
}
