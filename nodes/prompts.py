"""Prompts shared by more than one node; per-intent and per-worker prompts live in their registry entries."""

CLASSIFY_SYSTEM = """You are an expert at classifying user intents.

Classify the user's query into one of the following categories:
{menu}

Answer with the category name exactly as written above, and your confidence from 0.0 to 1.0.
If the query fits none of the categories, or fits several equally well, give a confidence below 0.5."""

PLAN_SYSTEM = """You are a master orchestrator for customer care. Break the customer's message down into tasks: \
one task per separate request, in the order the customer wrote them.

Each task has a `kind` and that kind's fields:
{menu}
- "{other}": any other request none of the kinds above covers; put what the customer asks for in `request`.

Copy ids exactly as the customer wrote them, without a leading '#'. Leave out greetings and small talk.
If the message holds no request at all, answer with an empty list of tasks."""

SYNTHESIZE = """You are a master communicator. Combine several distinct pieces of information from our support team \
into a single, well-formatted and friendly email to a customer.

Here are the points to include, in this order, based on the actions taken for their message:
---
{points}
---

Combine these points into one cohesive response that covers every point, in the order given. Keep every id, \
number and instruction exactly as written. Start with a friendly greeting (such as Dear Customer) and end with \
a polite closing (such as Best regards). Ensure the tone is helpful and professional."""
