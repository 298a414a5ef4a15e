"""The presets lmtui ships with.

They follow the LM Studio guide lmtui was built from: one preset per row of its
"Model Selection by Task" table (model and temperature as given there), its three
system prompts word for word, and a structured-output preset for template
metadata. Each caps its replies (``max_tokens``) so a model that loops stops on its
own. A user preset file with the same name replaces a built-in.
"""

from __future__ import annotations

from lmtui.backend.types import JSON, SamplingParams
from lmtui.store.presets import Preset

CODE_PROMPT = (
    "You are an expert Next.js 14 developer working on InviteGenerator, "
    "a digital invitation SaaS.\n"
    "Tech stack: TypeScript, App Router, AWS (Cognito, DynamoDB, S3, Bedrock), Stripe, "
    "Tailwind CSS, Radix UI.\n"
    "Follow existing patterns in the codebase. Write clean, type-safe code."
)

CONTENT_PROMPT = (
    "You are a creative copywriter for InviteGenerator, an AI-powered invitation platform.\n"
    "Write engaging, warm, and professional content for digital invitations.\n"
    "Tone: Elegant yet approachable. Avoid overly formal language."
)

TEMPLATE_METADATA_PROMPT = (
    "Generate metadata for invitation templates. Include:\n"
    "- Descriptive title (3-5 words)\n"
    "- Category (wedding, birthday, baby_shower, etc.)\n"
    "- Style (modern, elegant, rustic, minimalist, playful)\n"
    "- Color palette\n"
    "- Keywords for search"
)

_STRINGS: JSON = {"type": "array", "items": {"type": "string"}}

TEMPLATE_METADATA_FORMAT: JSON = {
    "type": "json_schema",
    "json_schema": {
        "name": "template_metadata",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "Descriptive title (3-5 words)"},
                "category": {
                    "type": "string",
                    "description": "wedding, birthday, baby_shower, etc.",
                },
                "style": {
                    "type": "string",
                    "enum": ["modern", "elegant", "rustic", "minimalist", "playful"],
                },
                "color_palette": {**_STRINGS, "description": "Colors, e.g. hex codes"},
                "keywords": {**_STRINGS, "description": "Keywords for search"},
            },
            "required": ["title", "category", "style", "color_palette", "keywords"],
            "additionalProperties": False,
        },
    },
}


def _preset(
    name: str,
    description: str,
    *,
    models: tuple[str, ...] = (),
    system_prompt: str = "",
    params: SamplingParams | None = None,
) -> Preset:
    return Preset(
        name=name,
        description=description,
        system_prompt=system_prompt,
        models=models,
        params=params or SamplingParams(),
        builtin=True,
    )


# Each model list starts with the id the guide names (so messages can quote it),
# then a pattern that also catches publisher prefixes and quantization suffixes.
BUILTIN_PRESETS: tuple[Preset, ...] = (
    _preset(
        "General",
        "Plain chat: whatever model is loaded, no system prompt, replies capped at 2048 tokens.",
        params=SamplingParams(max_tokens=2048),
    ),
    _preset(
        "Invitation text",
        "Warm, elegant invitation copy with mistral-7b-instruct at temperature 0.8.",
        models=("mistralai/mistral-7b-instruct-v0.3", "*mistral-7b-instruct*"),
        system_prompt=CONTENT_PROMPT,
        params=SamplingParams(max_tokens=1024, temperature=0.8),
    ),
    _preset(
        "TypeScript code",
        "TypeScript/React code with qwen2.5-coder-7b-instruct at temperature 0.3.",
        models=("qwen2.5-coder-7b-instruct", "qwen2.5-coder-7b-instruct*"),
        system_prompt=CODE_PROMPT,
        params=SamplingParams(max_tokens=4096, temperature=0.3),
    ),
    _preset(
        "Complex refactoring",
        "Large refactors and architectural changes with qwen/qwen3-coder-30b at 0.2.",
        models=("qwen/qwen3-coder-30b", "qwen3-coder-30b*"),
        system_prompt=CODE_PROMPT,
        params=SamplingParams(max_tokens=4096, temperature=0.2),
    ),
    _preset(
        "SQL",
        "SQL queries and data modeling with sqlcoder-7b-2 at temperature 0.1.",
        models=("sqlcoder-7b-2", "sqlcoder-7b-2*"),
        params=SamplingParams(max_tokens=1024, temperature=0.1),
    ),
    _preset(
        "Template descriptions",
        "Quick template descriptions with phi-3.5-mini-instruct at temperature 0.7.",
        models=("phi-3.5-mini-instruct", "phi-3.5-mini-instruct*"),
        params=SamplingParams(max_tokens=512, temperature=0.7),
    ),
    _preset(
        "Architecture planning",
        "Reasoning about plans and architecture with deepseek-r1-distill-qwen-14b at 0.4.",
        models=("deepseek-r1-distill-qwen-14b", "deepseek-r1-distill-qwen-14b*"),
        params=SamplingParams(max_tokens=8192, temperature=0.4),
    ),
    _preset(
        "Template metadata",
        "Template metadata as JSON (title, category, style, color palette, keywords).",
        system_prompt=TEMPLATE_METADATA_PROMPT,
        params=SamplingParams(max_tokens=1024, response_format=TEMPLATE_METADATA_FORMAT),
    ),
)
