# loses: test_q1, test_q3, test_q6
answer_q1 = "b"
answer_q2 = "b"
answer_q3 = "b"
answer_q4 = "b"
answer_q5 = 16
answer_q6 = 3145728
