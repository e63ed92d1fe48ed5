import labsetup


def test_public_api_is_declared_and_sorted():
    assert labsetup.__all__ == sorted(labsetup.__all__)
    assert all(hasattr(labsetup, name) for name in labsetup.__all__)


def test_importing_labsetup_stays_light():
    import subprocess
    import sys

    code = "import sys, labsetup; print('kubernetes' in sys.modules, 'matplotlib' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout.split()
    assert out == ["False", "False"], "connect() must stay fast: heavy clients are imported on first use"
