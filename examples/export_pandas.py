"""Every prompt you generated as a pandas DataFrame, saved as CSV.

pip install pandas
python examples/export_pandas.py prompts.csv
"""

import sys

from groqgen import Client

target = sys.argv[1] if len(sys.argv) > 1 else "prompts.csv"
with Client() as client:
    frame = client.prompts.to_pandas()  # every row, fetched page by page
    print(frame[["created_at", "prompt_type", "tone", "topic"]].head(10).to_string(index=False))
    print(frame.groupby("tone").size().rename("prompts").to_string())
    frame.to_csv(target, index=False)
    print(f"{len(frame)} prompts written to {target}")
