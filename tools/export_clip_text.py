#!/usr/bin/env python3
"""Export CLIP's text encoder to ONNX for Splatsync text queries.

Run it where PyTorch and one of open_clip (pip: open_clip_torch), OpenAI's `clip` package
or HuggingFace `transformers` is installed; it downloads the public weights through that
package. The output directory is what `splatsync --clip DIR` (or SPLATSYNC_CLIP_DIR) expects:

  text_model.onnx        input_ids int64 [1, L] (L = 77 for CLIP) -> text_embeds float32 [1, D]
                         ids: <|startoftext|>, text tokens, <|endoftext|>, 0-padding; the graph
                         pools at the end token (argmax of the ids) and applies the text
                         projection; L2 normalization only with --normalize (Splatsync
                         normalizes anyway)
  bpe_simple_vocab_16e6.txt.gz  (open_clip / clip)  or  vocab.json + merges.txt (transformers)
  text_model.json        what was exported (model, weights, D, L, versions)
  text_model.check.json  a few prompts with their ids and embeddings computed by PyTorch, for
                         checking the Splatsync side (server/semantic/clip/verify.ts)

Examples:
  python tools/export_clip_text.py --out clip-vit-b16                       # ViT-B/16, OpenAI weights
  python tools/export_clip_text.py --out clip-vit-l14 --model ViT-L/14
  python tools/export_clip_text.py --out clip-b16-laion --backend open_clip --model ViT-B-16 --pretrained laion2b_s34b_b88k
  python tools/export_clip_text.py --out clip-hf --backend transformers --model openai/clip-vit-base-patch16

Use the same CLIP model the scene's features were distilled from (LSeg and DGD use ViT-B/16
for D = 512; ViT-L/14 gives D = 768).
"""
import argparse
import inspect
import json
import os
import shutil
import sys
import tempfile

CHECK_PROMPTS = [
    "a photo of a cat",
    "it's the dog's ball!",
    "A  RED   chair, 2 lamps & 3 plants",
    "the wooden table next to the window",
]

# OpenAI model names -> open_clip names / HuggingFace repositories.
OPENAI_TO_HF = {
    "ViT-B/32": "openai/clip-vit-base-patch32",
    "ViT-B/16": "openai/clip-vit-base-patch16",
    "ViT-L/14": "openai/clip-vit-large-patch14",
    "ViT-L/14@336px": "openai/clip-vit-large-patch14-336",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--backend", choices=["auto", "open_clip", "clip", "transformers"], default="auto",
                   help="package that loads the weights (auto: the first installed of open_clip, clip, transformers)")
    p.add_argument("--model", default="ViT-B/16",
                   help="model name: OpenAI style (ViT-B/16), open_clip style (ViT-B-16) or a HuggingFace repo id")
    p.add_argument("--pretrained", default="openai", help="open_clip pretrained tag (default: openai)")
    p.add_argument("--normalize", action="store_true", help="L2-normalize inside the graph")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--force", action="store_true", help="overwrite files in --out")
    return p.parse_args()


def pick_backend(name):
    if name != "auto":
        return name
    for mod, backend in (("open_clip", "open_clip"), ("clip", "clip"), ("transformers", "transformers")):
        try:
            __import__(mod)
            return backend
        except ImportError:
            pass
    sys.exit("none of open_clip (pip install open_clip_torch), clip (OpenAI's package) or transformers is installed")


def open_clip_name(model):
    return model.replace("@336px", "-336").replace("/", "-")


def hf_name(model):
    return OPENAI_TO_HF.get(model, model)


def pad_ids(ids, length, eot):
    """start + tokens + end, truncated keeping the end token, 0-padded (clip.tokenize's layout)."""
    ids = list(ids)
    if len(ids) > length:
        ids = ids[:length]
        ids[-1] = eot
    return ids + [0] * (length - len(ids))


def load(args, torch):
    """Returns (text_module, tokenize(list[str]) -> LongTensor [n, L], L, info, copy_tokenizer(dir))."""
    nn = torch.nn

    class EncodeText(nn.Module):
        # open_clip and clip: model.encode_text pools at text.argmax(-1) and projects.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            return self.model.encode_text(input_ids)

    if args.backend == "open_clip":
        import open_clip
        from open_clip import tokenizer as oc_tok
        name = open_clip_name(args.model)
        model, _, _ = open_clip.create_model_and_transforms(name, pretrained=args.pretrained)
        tok = open_clip.get_tokenizer(name)
        if not isinstance(tok, oc_tok.SimpleTokenizer):
            sys.exit(f"{name}: its tokenizer is {type(tok).__name__}, not CLIP's BPE tokenizer; Splatsync reads only CLIP's")
        length = int(getattr(tok, "context_length", None) or getattr(model, "context_length", 77))
        bpe = oc_tok.default_bpe()

        def tokenize(texts):
            return tok(texts, context_length=length)

        def copy_tokenizer(out):
            shutil.copyfile(bpe, os.path.join(out, "bpe_simple_vocab_16e6.txt.gz"))

        info = {"backend": "open_clip", "model": name, "pretrained": args.pretrained, "open_clip": getattr(open_clip, "__version__", "?")}
        return EncodeText(model), tokenize, length, info, copy_tokenizer

    if args.backend == "clip":
        import clip
        model, _ = clip.load(args.model, device="cpu", jit=False)
        length = int(getattr(model, "context_length", 77))
        bpe = os.path.join(os.path.dirname(os.path.abspath(clip.__file__)), "bpe_simple_vocab_16e6.txt.gz")

        def tokenize(texts):
            return clip.tokenize(texts, context_length=length, truncate=True)

        def copy_tokenizer(out):
            shutil.copyfile(bpe, os.path.join(out, "bpe_simple_vocab_16e6.txt.gz"))

        info = {"backend": "clip", "model": args.model}
        return EncodeText(model), tokenize, length, info, copy_tokenizer

    import transformers
    from transformers import CLIPModel, CLIPTokenizer
    name = hf_name(args.model)
    try:  # eager attention exports most reliably
        model = CLIPModel.from_pretrained(name, attn_implementation="eager")
    except TypeError:
        model = CLIPModel.from_pretrained(name)
    tok = CLIPTokenizer.from_pretrained(name)
    length = int(model.config.text_config.max_position_embeddings)
    eot = tok.eos_token_id

    class HfText(nn.Module):
        # text_model pools at the end token (argmax of the ids, or its first position),
        # then text_projection (a Linear without bias).
        def __init__(self, clip_model):
            super().__init__()
            self.text_model = clip_model.text_model
            self.text_projection = clip_model.text_projection

        def forward(self, input_ids):
            pooled = self.text_model(input_ids=input_ids).pooler_output
            return self.text_projection(pooled)

    def tokenize(texts):
        rows = [pad_ids(tok(t)["input_ids"], length, eot) for t in texts]
        return torch.tensor(rows, dtype=torch.long)

    def copy_tokenizer(out):
        with tempfile.TemporaryDirectory() as tmp:
            tok.save_pretrained(tmp)
            for f in ("vocab.json", "merges.txt"):
                shutil.copyfile(os.path.join(tmp, f), os.path.join(out, f))

    info = {"backend": "transformers", "model": name, "transformers": transformers.__version__}
    try:
        import ftfy  # noqa: F401
    except ImportError:
        print("note: ftfy is not installed, so transformers' CLIPTokenizer falls back to a BERT-style "
              "cleanup; the exported files are the same, only text_model.check.json may differ", file=sys.stderr)
    return HfText(model), tokenize, length, info, copy_tokenizer


def main():
    args = parse_args()
    import torch
    import torch.nn.functional as F

    args.backend = pick_backend(args.backend)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "text_model.onnx")
    if os.path.exists(onnx_path) and not args.force:
        sys.exit(f"{onnx_path} exists (use --force to overwrite)")

    text, tokenize, length, info, copy_tokenizer = load(args, torch)

    class Export(torch.nn.Module):
        def __init__(self, inner, normalize):
            super().__init__()
            self.inner = inner
            self.normalize = normalize

        def forward(self, input_ids):
            x = self.inner(input_ids).float()
            return F.normalize(x, dim=-1) if self.normalize else x

    wrapper = Export(text, args.normalize).float().eval()
    try:  # nn.MultiheadAttention's fused inference path does not export
        torch.backends.mha.set_fastpath_enabled(False)
    except AttributeError:
        pass

    # The exporter only keeps the weights the text path uses (the image tower is dropped).
    # int64 ids: clip.tokenize gives int32 on recent PyTorch.
    sample = tokenize(["a photo of a cat"]).long()
    with torch.no_grad():
        dim = int(wrapper(sample).shape[-1])
        kwargs = dict(
            input_names=["input_ids"],
            output_names=["text_embeds"],
            opset_version=args.opset,
            do_constant_folding=True,
        )
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False  # the TorchScript exporter: fixed [1, L] shapes, one file
        torch.onnx.export(wrapper, (sample,), onnx_path, **kwargs)
        ids = tokenize(CHECK_PROMPTS).long()
        ref = F.normalize(wrapper(ids).float(), dim=-1)

    copy_tokenizer(out)
    checks = []
    for i, t in enumerate(CHECK_PROMPTS):
        row = ids[i].tolist()
        n = len(row)
        while n > 0 and row[n - 1] == 0:
            n -= 1
        checks.append({"text": t, "ids": row[:n], "embedding": [round(float(v), 7) for v in ref[i]]})
    with open(os.path.join(out, "text_model.check.json"), "w") as f:
        json.dump({"contextLength": length, "dim": dim, "prompts": checks}, f)
    info.update({
        "format": "splatsync-clip-text/1",
        "input": f"input_ids int64 [1, {length}]",
        "output": f"text_embeds float32 [1, {dim}]",
        "dim": dim,
        "contextLength": length,
        "normalized": bool(args.normalize),
        "opset": args.opset,
        "torch": torch.__version__,
    })
    with open(os.path.join(out, "text_model.json"), "w") as f:
        json.dump(info, f, indent=2)

    sess = None
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed here: skipped the ONNX-vs-PyTorch check", file=sys.stderr)
    else:
        try:
            sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        except Exception as e:  # e.g. an old onnxruntime without int64 ArgMax
            print(f"note: this onnxruntime ({ort.__version__}) cannot load the model, check skipped: {e}", file=sys.stderr)
            sess = None
    if sess is not None:
        worst = 1.0
        for i in range(len(CHECK_PROMPTS)):
            got = sess.run(["text_embeds"], {"input_ids": ids[i:i + 1].numpy().astype(np.int64)})[0][0]
            got = got / np.linalg.norm(got)
            worst = min(worst, float(np.dot(got, ref[i].numpy())))
        print(f"ONNX vs PyTorch: lowest cosine {worst:.6f} over {len(CHECK_PROMPTS)} prompts")
        if worst < 0.999:
            sys.exit("the exported model does not match PyTorch")
    print(f"{out}: text_model.onnx (D = {dim}, context {length}) and the tokenizer files written")


if __name__ == "__main__":
    main()
