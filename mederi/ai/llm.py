"""The optional language-model engine: a client for an OpenAI-compatible chat-completions server.

A practice that runs such a server (vLLM, llama.cpp's server, Ollama's OpenAI endpoint, a hosted
service) sets MEDERI_LLM_URL (the base URL, ending before /chat/completions), MEDERI_LLM_MODEL and,
if the server wants one, MEDERI_LLM_API_KEY. The front-desk agent then asks it what a message
wants and to word the answer; each call has a timeout (MEDERI_LLM_TIMEOUT_SECONDS), and on any
failure — no answer, an HTTP error, a reply that is not the JSON asked for, an intent outside the
list, a reworded answer that dropped a fact — the offline engine's result is used instead, so a
patient always gets an answer. Nothing is sent unless the URL is set. The tests run this client
against `mederi/ai/llm_standin.py`, a local HTTP server speaking the same JSON.
"""

from __future__ import annotations

import json
import logging
import re

import requests
from django.conf import settings

from mederi.ai.agent.classifier import CONFIDENT, INTENTS, OTHER_LANGUAGE, UNKNOWN, Understanding

log = logging.getLogger(__name__)
ALLOWED = set(INTENTS) | {OTHER_LANGUAGE, UNKNOWN}
CLASSIFY_PROMPT = (
    "You sort patients' messages to a medical practice's front desk. Answer with JSON only: "
    '{"intent": one of ' + ", ".join(sorted(ALLOWED)) + ', "confidence": a number from 0 to 1, '
    '"language": the English name of the language the message is written in}. '
    'Use "other_language" for any message not in English and "unknown" when unsure.')
WORDING_PROMPT = (
    "Rewrite this message from a medical practice to a patient so it reads warm and clear, at most 300 "
    "characters, as plain text. Keep every date, time, number, name and instruction exactly as written. "
    "Do not add facts or medical advice.")


class LlmError(Exception):
    """The server did not give a usable answer."""


class ChatClient:
    """POST {base}/chat/completions with the OpenAI request shape; returns the first choice's text."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 8.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout = model, api_key, timeout

    def complete(self, system: str, user: str, *, json_answer: bool = False) -> str:
        body = {"model": self.model, "temperature": 0, "max_tokens": 200,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
        if json_answer:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = requests.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            raise LlmError(f"the language-model server was not reached: {error.__class__.__name__}") from error
        if response.status_code != 200:
            raise LlmError(f"the language-model server answered HTTP {response.status_code}")
        try:
            return response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LlmError("the language-model server's answer is not a chat completion") from error


def _facts(text: str) -> set[str]:
    """Numbers and times in a text: a rewording must keep every one."""
    return set(re.findall(r"\d+(?::\d\d)?", text))


class LlmIntentEngine:
    """The agent's engine protocol (name, model, version, understand, word) over a chat-completions server,
    falling back to `fallback` (the offline engine) whenever the server fails."""

    name = "openai-compatible-llm"
    version = "1"

    def __init__(self, client: ChatClient, fallback):
        self.client, self.fallback = client, fallback
        self.model = client.model

    def understand(self, text: str) -> Understanding:
        try:
            answer = json.loads(self.client.complete(CLASSIFY_PROMPT, text, json_answer=True))
            intent = str(answer["intent"]).strip().lower()
            confidence = float(answer.get("confidence", 0))
            language = str(answer.get("language") or "English")
        except (LlmError, ValueError, KeyError, TypeError) as error:
            log.warning("llm: classification fell back to the offline engine: %s", error)
            return self.fallback.understand(text)
        if intent not in ALLOWED:
            log.warning("llm: the server answered an intent outside the list (%r); offline engine used", intent)
            return self.fallback.understand(text)
        if intent not in (OTHER_LANGUAGE, UNKNOWN) and confidence < CONFIDENT:
            intent = UNKNOWN
        offline = self.fallback.understand(text)  # refills and bills asked along the way are still queued
        return Understanding(intent, round(min(max(confidence, 0.0), 1.0), 3), language,
                             tuple(i for i in offline.also if i != intent))

    def word(self, answer: str, *, intent: str) -> str:
        try:
            worded = self.client.complete(WORDING_PROMPT, answer).strip()
        except LlmError as error:
            log.warning("llm: wording fell back to the offline text: %s", error)
            return answer
        if not worded or len(worded) > 480 or not _facts(answer) <= _facts(worded):
            return answer  # too long, or a date, time or number went missing: the plain text is safer
        return worded


def configured_engine(fallback):
    """The language-model engine when MEDERI_LLM_URL is set, else None."""
    url = getattr(settings, "MEDERI_LLM_URL", "")
    if not url:
        return None
    client = ChatClient(url, getattr(settings, "MEDERI_LLM_MODEL", "") or "default",
                        getattr(settings, "MEDERI_LLM_API_KEY", ""), getattr(settings, "MEDERI_LLM_TIMEOUT_SECONDS", 8))
    return LlmIntentEngine(client, fallback)
